"""The prepared GPU check runs its CPU part: every section, at its smallest, on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_gpu_check_runs_every_section_on_the_cpu(tmp_path: Path) -> None:
    command = [sys.executable, "benchmarks/gpu_check.py", "--device", "cpu", "--quick"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    sections = summary["sections"]
    assert done.returncode == 0, sections
    assert set(sections) == {"agreement", "full_size", "torchrun", "ray"}
    cells = sections["agreement"]["cells"]
    assert len(cells) == 2 and all(c["agree"] == c["samples"] > 0 for c in cells)
    costs = sections["full_size"]["uni3d-ti"]
    assert costs["batch 1"]["forward_backward_ms_per_cloud"] > 0
    assert 0 < costs["fps_knn_share_of_forward_backward"]
    assert sections["torchrun"]["backend"] == "gloo" and sections["torchrun"]["weights_sha256"]
    assert sections["ray"]["device"] == "cpu"
    assert (tmp_path / "summary.md").read_text().startswith("# GPU check on cpu")
