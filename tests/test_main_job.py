"""The README's main job on the embedded default: train the miniature ULIP, attack it, reuse it.

This is the full default configuration (about two minutes on two cores), kept in the default
suite because it is the harness's central claim: clean zero-shot accuracy of at least 70% on
procedural40, lowered by PGD, with identical numbers when the stored cell is reused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def bench(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    )


def test_ulip_pgd_default_run(tmp_path: Path) -> None:
    first = bench(tmp_path, "run", "--method", "ulip", "--attack", "pgd")
    assert first.returncode == 0, first.stderr
    (record,) = json.loads(bench(tmp_path, "results", "--format", "json").stdout)
    metrics = record["metrics"]
    assert metrics["n"] == 800
    assert metrics["clean_acc"] >= 0.70
    assert metrics["robust_acc"] < metrics["clean_acc"]
    assert metrics["linf_mean"] <= 0.05 + 1e-6
    assert record["provenance"]["weights"]["trained_now"] is True

    second = bench(tmp_path, "run", "--method", "ulip", "--attack", "pgd")
    assert second.returncode == 0 and "0 computed, 1 from the store" in second.stdout
    assert second.stdout.splitlines()[:3] == first.stdout.splitlines()[:3]
