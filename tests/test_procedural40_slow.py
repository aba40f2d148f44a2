"""procedural40 is learnable: a small supervised PointNet reaches 90% test accuracy in minutes."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "supervised_pointnet.py"


@pytest.mark.slow
def test_supervised_pointnet_learns_procedural40(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENCH_HOME", str(tmp_path))
    result = runpy.run_path(str(SCRIPT))["run"]()
    assert result["clean"] >= 0.90
    assert result["scan"] < result["clean"] - 0.2, "the scan variant should be a real domain shift"
