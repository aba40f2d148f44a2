"""Where cells run: in this process (the default) or as tasks on a Ray cluster.

Cells are independent, so an executor only has to call `compute_and_store` for each one; the
record is written atomically by whoever computes it, to a store every worker can reach (on a
real cluster, a shared filesystem). Resuming after a crash is running the same cells again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from bench.contracts.errors import UsageError
from bench.contracts.runtime import Runtime
from bench.running.cells import Cell
from bench.running.task import compute_and_store
from bench.storage.home import ENV_VAR, home
from bench.storage.store import Record


class Executor(Protocol):
    def map(self, cells: Sequence[Cell], runtime: Runtime, store_root: Path) -> Iterator[Record]:
        """Compute and store every cell, yielding records as they finish."""
        ...


class InProcess:
    """One cell after another in this process."""

    def map(self, cells: Sequence[Cell], runtime: Runtime, store_root: Path) -> Iterator[Record]:
        for cell in cells:
            yield compute_and_store(cell, runtime, store_root)


class RayExecutor:
    """One Ray task per cell; `address=None` starts a local cluster, else joins the given one."""

    def __init__(self, address: str | None = None, cpus_per_cell: float = 1.0) -> None:
        self.address = address
        self.cpus_per_cell = cpus_per_cell

    def map(self, cells: Sequence[Cell], runtime: Runtime, store_root: Path) -> Iterator[Record]:
        try:
            import ray
        except ImportError:
            raise UsageError("The Ray executor needs ray: pip install 'bench3d[ray]'.") from None
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
        task = ray.remote(num_cpus=self.cpus_per_cell)(_remote_cell)
        pending = [task.remote(cell, runtime, str(store_root), str(home())) for cell in cells]
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            yield ray.get(finished[0])


def _remote_cell(cell: Cell, runtime: Runtime, store_root: str, bench_home: str) -> Record:
    """Runs in a Ray worker: same home (caches) and store as the driver."""
    os.environ[ENV_VAR] = bench_home
    return compute_and_store(cell, runtime, Path(store_root))
