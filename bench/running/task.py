"""One cell as a task: claim it, evaluate it, turn any failure into a failed record, store it.

Executors import this module to run cells wherever they are; it never imports the runner.
A driver claims a cell before computing it (`bench.storage.claims`), so two drivers on one
store never compute the same cell twice, and the claim of a killed driver passes to the next.
A cell being computed saves its finished batches (`bench.storage.partial`): a crash loses at
most the batch in flight, and the rerun resumes from the others.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.contracts.errors import DiskFull
from bench.contracts.runtime import Runtime
from bench.plan.cells import Cell
from bench.plan.choice import KINDS
from bench.running.provenance import code_version, environment, utc_now
from bench.storage.claims import claim
from bench.storage.partial import PartialResults
from bench.storage.store import Record, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    record: Record
    reused: bool  # found finished in the store rather than computed now


def claim_and_compute(
    cell: Cell, runtime: Runtime, store_root: Path, wait: bool = True
) -> Outcome | None:
    """The cell's outcome: its finished record, or computed under the cell's claim.

    None if another process holds the claim and `wait` is False. A waiting driver reuses what
    the holder stored, or computes the cell itself if the holder died or failed.
    """
    store = Store(store_root)
    with claim(store.claim_path(cell.hash), wait) as held:
        if not held:
            return None
        finished = None if runtime.rerun else store.get(cell.hash)
        if finished is not None and finished.status == "ok":
            store.partial(cell.hash).discard()  # left by a driver killed after storing
            return Outcome(finished, reused=True)
        return Outcome(compute_and_store(cell, runtime, store_root), reused=False)


def compute_and_store(cell: Cell, runtime: Runtime, store_root: Path) -> Record:
    """Evaluate one cell, turning any failure into a failed record, and store the record,
    unless it is a failure and the store holds an ok record of the cell (a `--rerun`).

    A result the store refuses (a NaN metric) is such a failure, not a crashed run. A full disk
    is not: it stops the run (DiskFull), the cell's saved batches kept. The caller holds the
    cell's claim.
    """
    started = utc_now()
    store = Store(store_root)
    partial = store.partial(cell.hash)
    if runtime.rerun:
        partial.discard()
    try:
        record = compute(cell, runtime, partial)
        store.put(record)
        partial.discard()
        return record
    except DiskFull:  # not the cell's failure: its saved batches stay, for the rerun
        raise
    except Exception as error:  # any failure is stored as a visible, retryable failed cell
        log.info("Cell %s failed: %s", cell.label(), error)  # the command reports it
        partial.discard()  # a failed cell is retried from scratch, after whatever fixed it
        return store_failure(cell, runtime, store_root, error, started)


def compute(cell: Cell, runtime: Runtime, partial: PartialResults | None = None) -> Record:
    """The ok record of one cell, computed now and not stored; failures raise."""
    from bench.evaluation.cell import evaluate_cell  # torch: only once a cell is computed

    started = utc_now()
    metrics, samples, facts = evaluate_cell(cell, runtime, partial)
    return Record(
        cell_hash=cell.hash,
        cell=cell.identity(),
        labels=cell.labels(),
        status="ok",
        metrics=metrics,
        samples=samples,
        provenance={**_provenance(cell, runtime, started), **facts},
    )


def discard_leftover(store: Store, cell_hash: str) -> None:
    """Remove the saved batches of a cell whose ok record is stored: a driver killed between
    storing the record and removing them leaves them behind. Only under the cell's claim, so
    the batches of a `--rerun` computing the cell elsewhere stay."""
    partial = store.partial(cell_hash)
    if partial.path.exists():
        with claim(store.claim_path(cell_hash), wait=False) as held:
            if held:
                partial.discard()


def store_failure(
    cell: Cell, runtime: Runtime, store_root: Path, error: BaseException, started: str
) -> Record:
    """The failed record of a cell, stored unless the store holds an ok record of it: a failing
    rerun is reported, and the good result it would have replaced is kept."""
    failed = Record(
        cell_hash=cell.hash,
        cell=cell.identity(),
        labels=cell.labels(),
        status="failed",
        error=f"{type(error).__name__}: {error}",
        provenance={
            **_provenance(cell, runtime, started),
            "traceback": "".join(traceback.format_exception(error, limit=8)),
        },
    )
    store = Store(store_root)
    previous = store.get(cell.hash)
    if previous is not None and previous.status == "ok":
        log.warning("Cell %s failed on rerun; its stored result is kept.", cell.label())
        return failed
    store.put(failed)
    return failed


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
