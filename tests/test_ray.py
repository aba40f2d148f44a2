"""Cells run as tasks on a real local Ray cluster give the same stored records as in-process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from bench.contracts.runtime import Runtime
from bench.running.executors import RayExecutor
from bench.running.runner import Runner
from bench.running.spec import expand
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
