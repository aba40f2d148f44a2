"""Where cells run: in this process (the default) or as tasks on a Ray cluster.

Cells are independent, so an executor only has to call `claim_and_compute` for each one; the
record is written atomically by whoever computes it, to a store every worker can reach (on a
real cluster, a shared filesystem). Resuming after a crash is running the same cells again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from bench.contracts.errors import UsageError
from bench.contracts.runtime import Runtime
from bench.plan.cells import Cell
from bench.plan.training import Training
from bench.running.devices import require_device
from bench.running.provenance import utc_now
from bench.running.task import Outcome, claim_and_compute, store_failure
from bench.storage.home import ENV_VAR, home

if TYPE_CHECKING:
    from ray import ObjectRef

log = logging.getLogger(__name__)


class Executor(Protocol):
    def map(self, cells: Sequence[Cell], runtime: Runtime, store_root: Path) -> Iterator[Outcome]:
        """Compute and store every cell, yielding outcomes as they finish."""
        ...

    def slots(self) -> int:
        """How many cells run at once, for the progress line."""
        ...


class InProcess:
    """One cell after another in this process, on a device checked once there are any.

    A cell another driver is computing is put off to the end rather than waited for; by then
    it is usually finished and is reused, or its driver died and this one computes it.
    """

    def slots(self) -> int:
        return 1

    def map(self, cells: Sequence[Cell], runtime: Runtime, store_root: Path) -> Iterator[Outcome]:
        if cells:
            require_device(runtime.device)
        deferred = []
        for cell in cells:
            outcome = claim_and_compute(cell, runtime, store_root, wait=False)
            if outcome is None:
                deferred.append(cell)
            else:
                yield outcome
        for cell in deferred:
            outcome = claim_and_compute(cell, runtime, store_root, wait=True)
            assert outcome is not None  # a waiting claim is always held in the end
            yield outcome


class RayExecutor:
    """One Ray task per cell; `address=None` starts a local cluster, else joins the given one.

    Each distinct set of miniature weights is trained by one task before the cells fan out, so
    no worker sits waiting for another's training. Cells on a CUDA device ask Ray for
    `gpus_per_cell` GPUs (default 1), without which Ray hides the devices from its workers.
    A task whose worker dies is retried `retries` times (Ray's default is 3), each retry
    resuming from the batches the cell saved; once retries run out, the cell is stored as
    failed and the run goes on.
    """

    def __init__(
        self,
        address: str | None = None,
        cpus_per_cell: float = 1.0,
        gpus_per_cell: float | None = None,
        runtime_env: dict[str, Any] | None = None,
        retries: int = 3,
    ) -> None:
        self.address = address
        self.cpus_per_cell = cpus_per_cell
        self.gpus_per_cell = gpus_per_cell
        self.runtime_env = runtime_env
        self.retries = retries
        self._gpus = 0.0

    def slots(self) -> int:
        """The cells the cluster's CPUs (and GPUs) hold at once at the requested sizes."""
        import ray

        if not ray.is_initialized():
            return 1
        resources = ray.cluster_resources()
        fits = [resources.get("CPU", 1.0) / self.cpus_per_cell]
        if self._gpus:
            fits.append(resources.get("GPU", 0.0) / self._gpus)
        return max(1, int(min(fits)))

    def map(self, cells: Sequence[Cell], runtime: Runtime, store_root: Path) -> Iterator[Outcome]:
        try:
            import ray
        except ImportError:
            raise UsageError("The Ray executor needs ray: pip install 'bench3d[ray]'.") from None
        if not ray.is_initialized():
            ray.init(
                address=self.address,
                include_dashboard=False,
                runtime_env=self.runtime_env,
            )
        gpus = self.gpus_per_cell
        if gpus is None:
            gpus = 1.0 if runtime.device.startswith("cuda") else 0.0
        self._gpus = gpus
        options = {"num_cpus": self.cpus_per_cell, "num_gpus": gpus, "max_retries": self.retries}
        bench_home = str(home())
        training = ray.remote(_remote_training).options(**options)
        trainings = [training.remote(c, runtime, bench_home) for c in _distinct_weights(cells)]
        for ref in trainings:
            try:
                ray.get(ref)
            except Exception as error:  # its cells retry the training and fail visibly
                log.warning("Training before the cells failed: %s", error)
        task = ray.remote(_remote_cell).options(**options)
        pending = {task.remote(c, runtime, str(store_root), bench_home): c for c in cells}
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            done = cast("ObjectRef[Outcome]", ready)  # one of `pending`: ray types it loosely
            cell = pending.pop(done)
            try:
                yield ray.get(done)
            except Exception as error:  # the worker died, retries used up, or Ray failed
                log.error("Cell %s was lost by its Ray worker: %s", cell.label(), error)
                failed = store_failure(cell, runtime, store_root, error, utc_now())
                yield Outcome(failed, reused=False)


def _distinct_weights(cells: Sequence[Cell]) -> list[Training]:
    """Each distinct miniature the cells need, transfer sources included."""
    needed: dict[str, Training] = {}
    for cell in cells:
        for training in (cell.training, cell.transfer):
            if training is not None and training.release is None:  # a release needs no training
                needed.setdefault(training.key, training)
    return list(needed.values())


def _remote_training(training: Training, runtime: Runtime, bench_home: str) -> None:
    """Runs in a Ray worker: train (or find cached) the miniature this cell needs."""
    import torch

    from bench.training.weights import obtain_encoder

    os.environ[ENV_VAR] = bench_home
    obtain_encoder(training, torch.device(runtime.device))


def _remote_cell(cell: Cell, runtime: Runtime, store_root: str, bench_home: str) -> Outcome:
    """Runs in a Ray worker: same home (caches) and store as the driver."""
    os.environ[ENV_VAR] = bench_home
    outcome = claim_and_compute(cell, runtime, Path(store_root), wait=True)
    assert outcome is not None  # a waiting claim is always held in the end
    return outcome
