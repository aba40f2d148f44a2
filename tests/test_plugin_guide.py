"""docs/plugins.md's complete attack, copied out of the page, installed with pip and run.

The guide promises that an attack written from it alone works. So its code blocks are the test
input: each block under a `<!-- file: PATH -->` comment is written to PATH, the package is
pip-installed, the `<!-- command: ... -->` blocks are run as shown, and the check script's
printed lines must be exactly the `<!-- output: ... -->` block.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bench.testing.conformance import check_attack, check_metadata

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
EXAMPLE = ROOT / "examples" / "plugin_example"
ORIGIN = "dist:bench-sign-step==0.1.0"
BLOCK = re.compile(r"<!-- (file|output|command): (\S+) -->\n```[a-z]*\n(.*?)```", re.DOTALL)


def marked(kind: str) -> dict[str, str]:
    """The guide's fenced blocks of one kind ("file", "output", "command"), by their label."""
    text = GUIDE.read_text(encoding="utf-8")
    return {label: body for found, label, body in BLOCK.findall(text) if found == kind}


def commands(label: str) -> list[list[str]]:
    """The `bench ...` lines of a command block, comments dropped, as argument lists."""
    lines = [line.split(" #")[0].strip() for line in marked("command")[label].splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("bench ")]


def bench(env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    assert args[0] == "bench"
    command = [sys.executable, "-m", "bench.cli", *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """An environment with the guide's package (and the example one its cell uses) installed,
    and the folder the guide's files were written to."""
    folder = tmp_path_factory.mktemp("guide")
    for name, body in marked("file").items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(body, encoding="utf-8")
    target = tmp_path_factory.mktemp("site")
    for package in (folder / "sign_step", EXAMPLE):
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        pip += ["--no-build-isolation", "--target", str(target), str(package)]
        done = subprocess.run(pip, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    path = os.pathsep.join(p for p in (str(target), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}, folder


def test_the_guide_marks_a_whole_package_and_its_check() -> None:
    assert set(marked("file")) == {
        "sign_step/pyproject.toml",
        "sign_step/sign_step.py",
        "check_sign_step.py",
    }
    assert "[build-system]" in marked("file")["sign_step/pyproject.toml"]
    assert set(marked("output")) == {"check_sign_step.py"}
    assert commands("list") and commands("run")


def test_bench_lists_and_shows_the_guide_attack(installed: tuple[dict[str, str], Path]) -> None:
    env, _ = installed
    listing, shown = (bench(env, args) for args in commands("list"))
    assert listing.returncode == 0, listing.stderr
    (line,) = [row for row in listing.stdout.splitlines() if row.split()[:1] == ["sign_step"]]
    assert ORIGIN in line and " v1 " in line
    assert shown.returncode == 0, shown.stderr
    assert "eot_draws" in shown.stdout and "default 0.05" in shown.stdout


def test_the_check_prints_what_the_guide_shows(installed: tuple[dict[str, str], Path]) -> None:
    env, folder = installed
    script = [sys.executable, str(folder / "check_sign_step.py")]
    done = subprocess.run(script, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == marked("output")["check_sign_step.py"]


def test_a_cell_runs_with_the_guide_attack(
    installed: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env = {**installed[0], "BENCH_HOME": str(tmp_path)}
    (run,) = commands("run")
    ran = bench(env, [*run, "--wide"])  # every column, to find the attack in its own cell
    assert ran.returncode == 0, ran.stderr
    assert "| sign_step |" in ran.stdout
    results = bench(env, ["bench", "results", "--format", "json"])
    (record,) = json.loads(results.stdout)
    assert record["status"] == "ok"
    assert record["provenance"]["plugins"]["attack"]["origin"] == ORIGIN
    metrics, samples = record["metrics"], record["samples"]
    assert metrics["gradient_queries"] == 1 and metrics["linf_mean"] <= 0.05 + 1e-6
    assert {"loss_start", "loss_final", "success_step"} <= set(samples)


def test_checks_return_their_lines_and_print_them_unless_told_not_to(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = check_metadata("attacks", "none", echo=False) + check_attack("none", echo=False)
    assert capsys.readouterr().out == ""
    assert lines[0] == "ok  attack none: docstring, one-line description, version 1"
    assert "--  attack none: zero budget not checked (no eps or steps field)" in lines
    assert "--  attack none: EOT draws not checked (access 'none' does not query the victim)" in (
        lines
    )
    printed = check_attack("none")
    assert capsys.readouterr().out.splitlines() == printed
