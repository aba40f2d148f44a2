"""Full default runs on the embedded default: the ULIP main job and the README's headline job.

`bench run --method ulip --attack pgd` (about two minutes on two cores) stays in the default
suite: trained on the 30 seen classes, its zero-shot accuracy on the 10 unseen ones is above
chance beyond its interval, PGD lowers it, and the stored cell is reused with identical numbers.
The headline `bench run --method dual_denoise --attack pgd` takes several minutes, so it is
slow-marked (`pytest -m slow`); its whole code path (training, naive and EOT attacks, votes,
reruns) runs at smoke size in test_dual_denoise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def bench(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )


def run_twice(home: Path, method: str) -> dict:
    """The default cell of `method` under PGD, computed once and then served from the store."""
    first = bench(home, "run", "--method", method, "--attack", "pgd")
    assert first.returncode == 0, first.stderr
    (record,) = json.loads(bench(home, "results", "--format", "json").stdout)
    second = bench(home, "run", "--method", method, "--attack", "pgd")
    assert second.returncode == 0 and "0 computed, 1 from the store" in second.stdout
    assert second.stdout.splitlines()[:3] == first.stdout.splitlines()[:3]
    metrics = record["metrics"]
    assert metrics["n"] == 500  # 50 clouds of each of the 10 classes unseen in training
    assert metrics["zero_shot"] is True
    assert metrics["clean_acc_ci"][0] > 0.10  # above chance (10%), beyond its 95% interval
    assert metrics["robust_acc"] < metrics["clean_acc"]
    assert metrics["linf_mean"] <= 0.05 + 1e-6
    assert record["provenance"]["weights"]["trained_now"] is True
    return record


@pytest.mark.slow
def test_dual_denoise_headline_run(tmp_path: Path) -> None:
    record = run_twice(tmp_path, "dual_denoise")
    metrics = record["metrics"]
    assert metrics["stochastic"] is True and metrics["eot_draws"] > 1
    assert metrics["robust_acc_naive"] < metrics["clean_acc"]
    assert len(record["samples"]["adv_pred_naive"]) == 500


def test_ulip_default_run(tmp_path: Path) -> None:
    record = run_twice(tmp_path, "ulip")
    assert record["metrics"]["stochastic"] is False
    assert record["metrics"]["robust_acc_naive"] == record["metrics"]["robust_acc_adaptive"]
