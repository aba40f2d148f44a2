"""Executes cells: reuse finished ones from the store, run the rest, store every outcome.

A finished cell is never recomputed unless `rerun` is set; a failed cell is stored as failed
(visible in tables) and retried on the next run. Resuming an interrupted run is running it again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench.plugins import TEXT_ENCODERS
from bench.provenance import code_version, environment, utc_now
from bench.spec import KINDS, Cell
from bench.store import Record, Store
from bench.training import Progress

log = logging.getLogger(__name__)
ProgressFactory = Callable[[str], Progress]


def no_progress(description: str) -> Progress:
    return lambda done, total: None


@dataclass(frozen=True)
class Runtime:
    """How cells run; recorded in provenance but never part of a cell's hash."""

    device: str = "cpu"
    batch_size: int = 32
    rerun: bool = False


@dataclass(frozen=True)
class Outcome:
    record: Record
    reused: bool


class Runner:
    """Runs cells in this process, one after another."""

    def __init__(self, store: Store, runtime: Runtime, progress: ProgressFactory = no_progress):
        self.store = store
        self.runtime = runtime
        self.progress = progress

    def run(self, cells: Sequence[Cell]) -> list[Outcome]:
        outcomes = []
        for cell in cells:
            existing = self.store.get(cell.hash)
            if existing is not None and existing.status == "ok" and not self.runtime.rerun:
                outcomes.append(Outcome(existing, reused=True))
                continue
            record = self._attempt(cell)
            self.store.put(record)
            outcomes.append(Outcome(record, reused=False))
        return outcomes

    def _attempt(self, cell: Cell) -> Record:
        started = utc_now()
        try:
            from bench.evaluate import evaluate_cell

            metrics, samples, facts = evaluate_cell(cell, self.runtime, self.progress)
        except Exception as error:  # any failure is stored as a visible, retryable failed cell
            log.error("Cell %s failed: %s", cell.label(), error)
            return Record(
                cell_hash=cell.hash,
                cell=cell.identity(),
                labels=cell.labels(),
                status="failed",
                error=f"{type(error).__name__}: {error}",
                provenance={
                    **self._provenance(cell, started),
                    "traceback": traceback.format_exc(limit=8),
                },
            )
        return Record(
            cell_hash=cell.hash,
            cell=cell.identity(),
            labels=cell.labels(),
            status="ok",
            metrics=metrics,
            samples=samples,
            provenance={**self._provenance(cell, started), **facts},
        )

    def _provenance(self, cell: Cell, started: str) -> dict[str, Any]:
        plugins = {
            kind: {"name": c.name, "version": c.version, "origin": KINDS[kind].get(c.name).origin}
            for kind, c in (
                ("method", cell.method),
                ("dataset", cell.dataset),
                ("attack", cell.attack),
                ("defense", cell.defense),
            )
        }
        text_encoder = getattr(cell.method.config, "text_encoder", None)
        if text_encoder:
            entry = TEXT_ENCODERS.get(text_encoder)
            plugins["text_encoder"] = {
                "name": entry.name,
                "version": entry.cls.version,
                "origin": entry.origin,
            }
        return {
            **code_version(),
            **environment(self.runtime.device),
            "plugins": plugins,
            "seed": cell.seed,
            "batch_size": self.runtime.batch_size,
            "started_at": started,
            "finished_at": utc_now(),
        }
