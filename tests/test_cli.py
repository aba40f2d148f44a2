"""The `bench` command as a user runs it: end to end on a tiny configuration, and its errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.testing.conformance import smoke_flags

# ulip's smoke miniature trains in seconds; the real default is exercised by test_main_job.
TINY = [*smoke_flags("methods", "ulip"), "--set", "dataset.test_per_class=1"]


def bench(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if home is not None:
        env["BENCH_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, env=env
    )


def test_run_stores_reuses_and_reports() -> None:
    first = bench("run", "--method", "ulip", "--attack", "pgd", "--set", "attack.steps=2", *TINY)
    assert first.returncode == 0, first.stderr
    assert "| ulip(" in first.stdout and "1 computed, 0 from the store" in first.stdout
    second = bench("run", "--method", "ulip", "--attack", "pgd", "--set", "pgd.steps=2", *TINY)
    assert second.returncode == 0 and "0 computed, 1 from the store" in second.stdout
    assert first.stdout.splitlines()[:3] == second.stdout.splitlines()[:3]

    records = json.loads(bench("results", "--format", "json").stdout)
    record = next(r for r in records if r["cell"]["attack"]["config"]["steps"] == 2)
    metrics = record["metrics"]
    assert record["status"] == "ok" and metrics["n"] == 10  # the 10 unseen classes
    samples = record["samples"]
    columns = (samples["clean_pred"], samples["label"], samples["adv_pred"])
    robust = [c == y == a for c, y, a in zip(*columns, strict=True)]
    assert metrics["robust_acc"] == sum(robust) / 10 and samples["robust"] == robust
    assert metrics["robust_acc"] <= metrics["clean_acc"]
    assert metrics["linf_mean"] <= 0.05 + 1e-6 and metrics["gradient_queries"] == 2
    assert len(record["samples"]["adv_pred"]) == 10 and len(set(record["samples"]["id"])) == 10
    provenance = record["provenance"]
    assert provenance["plugins"]["method"]["origin"] == "builtin:baselines/ulip.py"
    assert len(provenance["weights"]["sha256"]) == 64 and provenance["dataset_fingerprint"]
    assert provenance["teacher"].startswith("minilm:")

    table = list(csv.DictReader(io.StringIO(bench("results", "--format", "csv").stdout)))
    assert any(row["cell_hash"] == record["cell_hash"][:16] for row in table)
    rerun = bench(
        "run", "--method", "ulip", "--attack", "pgd", "--set", "pgd.steps=2", "--rerun", *TINY
    )
    assert "1 computed" in rerun.stdout
    accuracy_columns = slice(8, 11)  # clean, robust, attack success
    assert (
        rerun.stdout.splitlines()[2].split("|")[accuracy_columns]
        == first.stdout.splitlines()[2].split("|")[accuracy_columns]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--method", "ulipp", "--attack", "pgd"],
            "Unknown method 'ulipp'. Did you mean 'ulip'?",
        ),
        (["run", "--method", "ulip", "--attack", "pgd", "--set", "attack.eps=-1"], "eps"),
        (
            ["run", "--method", "ulip", "--attack", "pgd", "--set", "attack.eps=abc"],
            "must be of type float",
        ),
        (["run", "--method", "ulip"], "Give --method and --attack"),
        (["run", "--method", "ulip", "--attack", "pgd", "--device", "tpu"], "--device must be"),
        (["run", "--spec", "missing.yaml"], "Cannot read the spec file"),
        (["list", "widgets"], "Unknown kind 'widgets'"),
    ],
)
def test_usage_errors_are_one_sentence_with_exit_code_2(args: list[str], message: str) -> None:
    result = bench(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback() -> None:
    result = bench("--debug", "run", "--method", "ulipp", "--attack", "pgd")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_unreadable_records_are_reported_not_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "store" / "cells" / "ab" / "abababababababab.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{oops")
    result = bench("results", home=tmp_path)
    assert result.returncode == 0 and "unreadable" in result.stderr
    assert "no results yet" in result.stdout


def test_list_shows_every_kind() -> None:
    result = bench("list")
    assert result.returncode == 0
    for expected in ("methods:", "ulip", "attacks:", "pgd", "datasets:", "procedural40", "minilm"):
        assert expected in result.stdout


def test_train_then_load_from_cache() -> None:
    tiny = TINY[:-2]  # without the dataset override
    first = bench("train", "--method", "ulip", *tiny)
    assert first.returncode == 0, first.stderr
    second = bench("train", "--method", "ulip", *tiny)
    assert "loaded from cache" in second.stdout
    assert first.stdout.split("sha256 ")[1] == second.stdout.split("sha256 ")[1]
    bad = bench("train", "--method", "ulip", "--set", "attack.eps=0.1")
    assert bad.returncode == 2 and "--set method.key=value" in bad.stderr


def test_gallery_command_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "gallery.png"
    result = bench(
        "datasets", "gallery", "procedural40", "--out", str(out), "--set", "test_per_class=1"
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_for_a_spec_show_only_its_cells(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "methods: [{name: ulip, params: {num_points: 256, num_groups: 16, group_size: 16,"
        " depth: 1, epochs: 1}}]\n"
        "datasets: [{name: procedural40, params: {test_per_class: 1}}]\n"
        "attacks: [none, {name: pgd, params: {steps: 1, eps: 0.02}}]\n"
    )
    ran = bench("run", "--spec", str(spec))
    assert ran.returncode == 0, ran.stderr
    wide = bench("results", "--spec", str(spec), "--layout", "wide")
    assert wide.returncode == 0, wide.stderr
    header, _, row = wide.stdout.splitlines()
    assert header.startswith("| Method | Dataset | Protocol | Clean (%) | pgd(")
    assert row.startswith("| ulip(")
    spec.write_text(spec.read_text().replace("eps: 0.02", "eps: 0.03"))
    partial = bench("results", "--spec", str(spec))
    assert "1 of the spec's 2 cells are not in the store yet" in partial.stderr
    assert len(partial.stdout.strip().splitlines()) == 3  # header, rule, the clean cell
