"""A cell is identified by its data, not by where its files are, and by nothing a process
remembers: two folders of different files are two cells, a copy of the same files is one."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.contracts.runtime import Runtime
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Store
from bench.testing.conformance import smoke_params
from bench.testing.public_formats import write_modelnet40_h5

TINY_METHOD = {"name": "ulip", "params": smoke_params("methods", "ulip")}


def _spec(*roots: Path) -> dict[str, object]:
    datasets = [{"name": "modelnet40", "params": {"root": str(root)}} for root in roots]
    return {"methods": [TINY_METHOD], "datasets": datasets, "attacks": ["none"]}


def test_two_folders_of_different_files_are_two_cells_with_their_own_numbers(
    tmp_path: Path,
) -> None:
    two = write_modelnet40_h5(tmp_path / "two_per_class", per_class=2, points=64)
    one = write_modelnet40_h5(tmp_path / "one_per_class", per_class=1, points=64)
    cells = expand(_spec(two, one))
    assert len({cell.hash for cell in cells}) == 2
    assert cells[0].data_fingerprint != cells[1].data_fingerprint
    outcomes = Runner(Store(tmp_path / "store"), Runtime(batch_size=16)).run(cells)
    assert [o.record.status for o in outcomes] == ["ok", "ok"]
    assert [o.record.metrics["n"] for o in outcomes] == [20, 10]  # the unseen classes' clouds


def test_the_same_files_in_another_folder_are_the_same_cell(tmp_path: Path) -> None:
    original = write_modelnet40_h5(tmp_path / "original", per_class=1, points=64)
    copy = Path(shutil.copytree(original, tmp_path / "copy"))
    (first,) = expand(_spec(original, copy))  # one cell: the folder is not its identity
    (alone,) = expand(_spec(copy))
    assert alone.hash == first.hash


def test_a_later_plan_sees_files_changed_since_an_earlier_one(tmp_path: Path) -> None:
    root = write_modelnet40_h5(tmp_path / "data", per_class=1, points=64)
    (before,) = expand(_spec(root))
    shutil.rmtree(root)
    write_modelnet40_h5(root, per_class=2, points=64)
    (after,) = expand(_spec(root))
    assert after.data_fingerprint != before.data_fingerprint and after.hash != before.hash
