"""The example plugin package of docs/plugins.md, installed with pip and run through `bench`.

This is the guide's promise tested: a package that only follows the docs registers an attack,
a dataset and a method through entry points, passes the conformance suite, and runs a cell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "plugin_example"
ORIGIN = "dist:bench-example-plugins==0.1.0"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment in which the example is pip-installed (into a directory of its own)."""
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    pip += ["--no-build-isolation", "--target", str(target), str(EXAMPLE)]
    done = subprocess.run(pip, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    path = os.pathsep.join(p for p in (str(target), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def bench(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bench.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env)


def test_the_example_plugins_are_listed_with_their_distribution(installed) -> None:
    listing = bench(installed, "list")
    assert listing.returncode == 0, listing.stderr
    for name in ("random_noise", "solids", "tiny_pointnet"):
        (line,) = [line for line in listing.stdout.splitlines() if line.split()[:1] == [name]]
        assert ORIGIN in line
    shown = bench(installed, "show", "attack", "random_noise")
    assert "tries" in shown.stdout and "default 8" in shown.stdout


def test_the_example_plugins_pass_the_conformance_suite(installed) -> None:
    script = (
        "from bench.testing.conformance import check_attack, check_dataset, check_method,"
        " check_metadata\n"
        "for kind, name in [('attacks', 'random_noise'), ('datasets', 'solids'),"
        " ('methods', 'tiny_pointnet')]:\n"
        "    check_metadata(kind, name)\n"
        "check_attack('random_noise'); check_dataset('solids'); check_method('tiny_pointnet')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=installed
    )
    assert done.returncode == 0, done.stderr


def test_a_cell_runs_with_all_three_example_plugins(installed, tmp_path: Path) -> None:
    env = {**installed, "BENCH_HOME": str(tmp_path)}
    ran = bench(
        env, "run", "--method", "tiny_pointnet", "--attack", "random_noise", "--dataset", "solids",
        "--set", "dataset.per_class=4", "--set", "method.epochs=1",
        "--set", "corpus.train_per_class=4", "--set", "corpus.points=256", "--wide",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "| tiny_pointnet" in ran.stdout and "| zero-shot |" in ran.stdout
    (record,) = json.loads(bench(env, "results", "--format", "json").stdout)
    assert record["status"] == "ok" and record["metrics"]["n"] == 12
    plugins = record["provenance"]["plugins"]
    assert {plugins[k]["origin"] for k in ("method", "attack", "dataset")} == {ORIGIN}
    assert record["metrics"]["linf_mean"] <= 0.05 + 1e-6
