"""Cells run as tasks on a real local Ray cluster give the same stored records as in-process."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from bench.contracts.runtime import Runtime
from bench.plan.spec import expand
from bench.running.executors import RayExecutor
from bench.running.runner import Runner
from bench.storage.store import Store
from bench.testing.conformance import smoke_params

SPEC = {
    "methods": [{"name": "ulip", "params": smoke_params("methods", "ulip")}],
    "datasets": [{"name": "procedural40", "params": {"test_per_class": 1}}],
    "attacks": ["none", {"name": "pgd", "params": {"steps": 2}}],
}


@pytest.fixture()
def local_cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_cells_match_in_process_cells(tmp_path: Path, local_cluster: None) -> None:
    cells = expand(SPEC)
    local = Runner(Store(tmp_path / "local"), Runtime(batch_size=16)).run(cells)
    remote_store = Store(tmp_path / "ray")
    remote = Runner(remote_store, Runtime(batch_size=16), executor=RayExecutor()).run(cells)

    assert [o.record.status for o in remote] == ["ok", "ok"]
    for here, there in zip(local, remote, strict=True):
        assert there.record.cell_hash == here.record.cell_hash
        assert remote_store.get(here.record.cell_hash) == there.record  # written by the worker
        assert there.record.samples["adv_pred"] == here.record.samples["adv_pred"]
        for key in ("clean_acc", "robust_acc", "attack_success_rate"):
            assert there.record.metrics[key] == here.record.metrics[key]
        assert there.record.metrics["linf_mean"] == pytest.approx(here.record.metrics["linf_mean"])
    again = Runner(remote_store, Runtime(batch_size=16), executor=RayExecutor()).run(cells)
    assert all(o.reused for o in again)


def test_a_cell_whose_worker_dies_is_a_failed_record_and_the_run_goes_on(
    tmp_path: Path, local_cluster: None
) -> None:
    """With no retries left, a SIGKILLed worker's cell is stored failed; the others finish."""
    spec = {**SPEC, "attacks": [{"name": "pgd", "params": {"steps": 400}}, "none"]}
    # Two clouds per class: 4 clean-correct ones, so the kill lands with batches left to attack.
    spec["datasets"] = [{"name": "procedural40", "params": {"test_per_class": 2}}]
    cells = expand(spec)
    store = Store(tmp_path / "store")
    partial = store.partial(cells[0].hash).path  # the pgd cell's saved batches
    killed: list[int] = []

    def kill_the_attacking_worker() -> None:
        deadline = time.monotonic() + 300
        while not partial.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        done = subprocess.run(["pkill", "-KILL", "-f", "ray::_remote_cell"], check=False)
        killed.append(done.returncode)

    killer = threading.Thread(target=kill_the_attacking_worker)
    killer.start()
    executor = RayExecutor(cpus_per_cell=2, retries=0)  # one cell at a time
    outcomes = Runner(store, Runtime(batch_size=1), executor=executor).run(cells)
    killer.join()

    assert killed == [0]
    attacked, clean = outcomes
    assert attacked.record.status == "failed"
    assert "died" in attacked.record.error or "crashed" in attacked.record.error.lower()
    assert store.get(cells[0].hash) == attacked.record  # stored, visible, retried next run
    assert clean.record.status == "ok"
