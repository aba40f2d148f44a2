"""Executes cells: reuse finished ones from the store, run the rest, store every outcome.

A finished cell is never recomputed unless `rerun` is set; a failed cell is stored as failed
(visible in tables) and retried on the next run. Resuming an interrupted run is running it again;
Ctrl-C raises `Interrupted`, which says what the rerun will find stored and saved.
Cells are independent: an executor runs each one as a task (`bench.running.task`) here or on a
Ray cluster (`bench.running.executors`), and whoever computes a cell writes its record atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bench.contracts.runtime import Runtime, no_progress, progress
from bench.plan.cells import Cell
from bench.running.executors import Executor, InProcess
from bench.running.task import Outcome, discard_leftover
from bench.storage.store import Store

log = logging.getLogger(__name__)


class Runner:
    """Decides which cells need computing and hands them to an executor."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        executor: Executor | None = None,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.executor = executor or InProcess()

    def run(self, cells: Sequence[Cell]) -> list[Outcome]:
        outcomes: dict[str, Outcome] = {}
        todo = []
        for cell in cells:
            existing = self.store.get(cell.hash)
            if existing is not None and existing.status == "ok" and not self.runtime.rerun:
                outcomes[cell.hash] = Outcome(existing, reused=True)
                discard_leftover(self.store, cell.hash)
            else:
                todo.append(cell)
        report = progress("cells") if len(todo) > 1 else no_progress("")
        failed = 0
        try:
            for done, outcome in enumerate(
                self.executor.map(todo, self.runtime, self.store.root), start=1
            ):
                outcomes[outcome.record.cell_hash] = outcome
                if outcome.record.status != "ok":  # said as it happens, not only at the end
                    failed += 1
                    log.warning(
                        "Cell %s failed: %s", outcome.record.cell_hash[:16], outcome.record.error
                    )
                running = min(self.executor.slots(), len(todo) - done)
                report(done, len(todo), f"{running} running, {failed} failed")
        except KeyboardInterrupt:
            unfinished = [cell for cell in todo if cell.hash not in outcomes]
            raise Interrupted(len(outcomes), len(cells), self._saved(unfinished)) from None
        return [outcomes[cell.hash] for cell in cells]

    def _saved(self, cells: Sequence[Cell]) -> list[tuple[str, int]]:
        """Each cell's label and attacked samples its saved batches hold, where it has some."""
        counts = [(cell.label(), len(self.store.partial(cell.hash).load().rows)) for cell in cells]
        return [(label, count) for label, count in counts if count]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, with what it leaves for the rerun: the cells stored (reused or
    computed) and the attacked samples the unfinished cells saved, so the user knows what
    running the same command again will not redo."""

    def __init__(self, stored: int, total: int, saved: Sequence[tuple[str, int]]) -> None:
        self.stored, self.total, self.saved = stored, total, list(saved)
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [f"{self.stored} of {self.total} cell(s) finished and stored"]
        parts += [
            f"{count} attacked sample{'s' if count != 1 else ''} of {label} saved"
            for label, count in self.saved
        ]
        return ", ".join(parts)
