"""One cell as a task: evaluate it, turn any failure into a failed record, store the record.

Executors import this module to run cells wherever they are; it never imports the runner.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from bench.contracts.runtime import Runtime
from bench.evaluation.cell import evaluate_cell
from bench.running.cells import KINDS, Cell
from bench.running.provenance import code_version, environment, utc_now
from bench.storage.store import Record, Store

log = logging.getLogger(__name__)


def compute_and_store(cell: Cell, runtime: Runtime, store_root: Path) -> Record:
    """Evaluate one cell, turning any failure into a failed record, and store the record,
    unless it is a failure and the store holds an ok record of the cell (a `--rerun`).

    A result the store refuses (a NaN metric) is such a failure, not a crashed run.
    """
    started = utc_now()
    store = Store(store_root)
    try:
        metrics, samples, facts = evaluate_cell(cell, runtime)
        record = Record(
            cell_hash=cell.hash,
            cell=cell.identity(),
            labels=cell.labels(),
            status="ok",
            metrics=metrics,
            samples=samples,
            provenance={**_provenance(cell, runtime, started), **facts},
        )
        store.put(record)
        return record
    except Exception as error:  # any failure is stored as a visible, retryable failed cell
        log.info("Cell %s failed: %s", cell.label(), error)  # the command reports it
        failed = Record(
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
    previous = store.get(cell.hash)
    if previous is not None and previous.status == "ok":
        # A failing rerun is reported, and the good result it would have replaced is kept.
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
