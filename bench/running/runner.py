"""Executes cells: reuse finished ones from the store, run the rest, store every outcome.

A finished cell is never recomputed unless `rerun` is set; a failed cell is stored as failed
(visible in tables) and retried on the next run. Resuming an interrupted run is running it again.
Cells are independent: an executor runs them here or on a Ray cluster
(`bench.running.executors`), and whoever computes a cell writes its record atomically.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.running.provenance import code_version, environment, utc_now
from bench.running.spec import KINDS, Cell
from bench.storage.store import Record, Store

if TYPE_CHECKING:
    from bench.running.executors import Executor
    from bench.training.loop import Progress

log = logging.getLogger(__name__)
ProgressFactory = Callable[[str], "Progress"]


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
    """Decides which cells need computing and hands them to an executor."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        progress: ProgressFactory = no_progress,
        executor: Executor | None = None,
    ) -> None:
        from bench.running.executors import InProcess

        self.store = store
        self.runtime = runtime
        self.progress = progress
        self.executor = executor or InProcess()

    def run(self, cells: Sequence[Cell]) -> list[Outcome]:
        outcomes: dict[str, Outcome] = {}
        todo = []
        for cell in cells:
            existing = self.store.get(cell.hash)
            if existing is not None and existing.status == "ok" and not self.runtime.rerun:
                outcomes[cell.hash] = Outcome(existing, reused=True)
            else:
                todo.append(cell)
        report = self.progress("cells") if len(todo) > 1 else no_progress("")
        for done, record in enumerate(
            self.executor.map(todo, self.runtime, self.store.root, self.progress), start=1
        ):
            outcomes[record.cell_hash] = Outcome(record, reused=False)
            report(done, len(todo))
        return [outcomes[cell.hash] for cell in cells]


def compute_and_store(
    cell: Cell, runtime: Runtime, store_root: Path, progress: ProgressFactory = no_progress
) -> Record:
    """Evaluate one cell, turning any failure into a failed record, and store the record."""
    started = utc_now()
    try:
        from bench.evaluation.cell import evaluate_cell

        metrics, samples, facts = evaluate_cell(cell, runtime, progress)
        record = Record(
            cell_hash=cell.hash,
            cell=cell.identity(),
            labels=cell.labels(),
            status="ok",
            metrics=metrics,
            samples=samples,
            provenance={**_provenance(cell, runtime, started), **facts},
        )
    except Exception as error:  # any failure is stored as a visible, retryable failed cell
        log.error("Cell %s failed: %s", cell.label(), error)
        record = Record(
            cell_hash=cell.hash,
            cell=cell.identity(),
            labels=cell.labels(),
            status="failed",
            error=f"{type(error).__name__}: {error}",
            provenance={
                **_provenance(cell, runtime, started),
                "traceback": traceback.format_exc(limit=8),
            },
        )
    Store(store_root).put(record)
    return record


def _provenance(cell: Cell, runtime: Runtime, started: str) -> dict[str, Any]:
    plugins = {
        kind: {"name": c.name, "version": c.version, "origin": KINDS[kind].get(c.name).origin}
        for kind, c in (
            ("method", cell.method),
            ("dataset", cell.dataset),
            ("attack", cell.attack),
            ("defense", cell.defense),
            ("text_encoder", cell.teacher),
        )
    }
    return {
        **code_version(),
        **environment(runtime.device),
        "plugins": plugins,
        "seed": cell.seed,
        "batch_size": runtime.batch_size,
        "started_at": started,
        "finished_at": utc_now(),
    }
