"""The `bench` command as a user runs it: end to end on a tiny configuration, and its errors."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import __version__
from bench.cli import build_parser, main
from bench.testing.cli import TORCH_PROBE
from bench.testing.conformance import smoke_flags

# ulip's smoke miniature trains in seconds; the real default is exercised by test_main_job.
TINY = [*smoke_flags("methods", "ulip"), "--set", "dataset.test_per_class=1"]
PROGRESS = re.compile(r"\d\d:\d\d:\d\d ")  # a progress report's time stamp


def bench(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if home is not None:
        env["BENCH_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, env=env
    )


def test_run_stores_reuses_and_reports() -> None:
    first = bench(
        "run", "--method", "ulip", "--attack", "pgd", "--set", "attack.steps=2", *TINY, "--wide"
    )
    assert first.returncode == 0, first.stderr
    assert "| ulip(" in first.stdout and "1 computed, 0 from the store" in first.stdout
    second = bench(
        "run", "--method", "ulip", "--attack", "pgd", "--set", "pgd.steps=2", *TINY, "--wide"
    )
    assert second.returncode == 0 and "0 computed, 1 from the store" in second.stdout
    assert first.stdout.splitlines()[:3] == second.stdout.splitlines()[:3]

    records = json.loads(bench("results", "--format", "json").stdout)
    record = next(r for r in records if f"| {r['cell_hash'][:16]} |" in first.stdout)
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
        "run",
        "--method",
        "ulip",
        "--attack",
        "pgd",
        "--set",
        "pgd.steps=2",
        "--rerun",
        *TINY,
        "--wide",
    )
    assert "1 computed" in rerun.stdout
    accuracy_columns = slice(9, 12)  # seed, n and clean accuracy
    assert (
        rerun.stdout.splitlines()[2].split("|")[accuracy_columns]
        == first.stdout.splitlines()[2].split("|")[accuracy_columns]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--method", "ulipp", "--attack", "pgd"],
            "Unknown method 'ulipp'. Did you mean 'ulip' or 'ulip2'?",
        ),
        (["run", "--method", "ulip", "--attack", "pgd", "--set", "attack.eps=-1"], "eps"),
        (
            ["run", "--method", "ulip", "--attack", "pgd", "--set", "attack.eps=abc"],
            "must be of type float",
        ),
        (["run", "--method", "ulip"], "Give --method and --attack"),
        (["run", "--method", "ulip", "--attack", "pgd", "--device", "tpu"], "--device must be"),
        (["run", "--spec", "missing.yaml"], "Cannot read the spec file"),
        (
            ["run", "--method", "ulip", "--attack", "open_target"]
            + ["--set", "attack.target_text=chair", "--dry-run"],
            "The attack's extra class 'chair' is already an evaluated class",
        ),
        (
            ["run", "--spec", "transfer", "--set", "dataset.test_per_class=10", "--seed", "1"],
            "--seed, --set describe a single cell and would be ignored with --spec",
        ),
        (
            ["run", "--method", "ulip", "--attack", "pgd", "--executor", "ray"]
            + ["--ray-runtime-env", "missing.yaml"],
            "--ray-runtime-env missing.yaml",
        ),
        (
            ["run", "--method", "ulip", "--attack", "pgd", "--executor", "ray"]
            + ["--gpus-per-cell", "-1"],
            "--gpus-per-cell must be a finite number in [0, 1024]",
        ),
        (["list", "widgets"], "Unknown kind 'widgets'"),
    ],
)
def test_usage_errors_are_one_sentence_with_exit_code_2(args: list[str], message: str) -> None:
    result = bench(*args)
    assert result.returncode == 2
    # Progress lines ("22:30:14 generate procedural40 ...") come first where the planner had
    # to generate data in a fresh home; the error is the one line after them.
    lines = [line for line in result.stderr.splitlines() if not PROGRESS.match(line)]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.stderr


def _subcommand_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list:
    """Every command path of the parser, its own included: (), ("run",), ("datasets", "gallery")."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += _subcommand_paths(sub, (*prefix, name))
    return paths


@pytest.mark.parametrize("path", _subcommand_paths(build_parser()), ids=" ".join)
def test_every_help_prints_and_exits_0(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    assert "usage: bench" in capsys.readouterr().out


def test_help_and_version_from_the_installed_command() -> None:
    helped = bench("--help")
    assert helped.returncode == 0 and "compare" in helped.stdout and not helped.stderr
    version = bench("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"bench {__version__}"


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
    for citation in ("(Xiang et al., Generating 3D", "(Tsai et al.", "(Zhou et al., DUP-Net"):
        assert citation in result.stdout  # every published attack and defense is cited


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


# A tiny ULIP, one cloud per class, clean and one PGD step: a spec that runs in seconds.
SMALL_SPEC = (
    "methods: [{name: ulip, params: {num_points: 256, num_groups: 16, group_size: 16,"
    " depth: 1, epochs: 1}}]\n"
    "datasets: [{name: procedural40, params: {test_per_class: 1}}]\n"
    "attacks: [none, {name: pgd, params: {steps: 1, eps: 0.02}}]\n"
)


def test_results_for_a_spec_show_only_its_cells(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SMALL_SPEC)
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
    assert "none v1" in partial.stdout and "pgd" not in partial.stdout  # the clean cell only
    assert max(len(line) for line in partial.stdout.splitlines()) <= 100


def test_results_lay_a_victims_cells_out_as_attacks_against_defenses(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SMALL_SPEC + "defenses: [none, sor]\n")
    ran = bench("run", "--spec", str(spec))
    assert ran.returncode == 0, ran.stderr
    shown = bench("results", "--spec", str(spec), "--layout", "defenses")
    assert shown.returncode == 0, shown.stderr
    title, _, header, _, clean, attacked = shown.stdout.splitlines()
    assert title.startswith("ulip(") and "(seed 0, trained on procedural40/train" in title
    assert header == "| Attack | none | sor |"
    assert clean.startswith("| clean (no attack) | ") and attacked.startswith("| pgd(")


def test_results_mark_cells_whose_weights_were_rebuilt_since(session_home: Path) -> None:
    from bench.storage.verified import recorded, write_verified

    # Weights of their own (seed 11), beside the session's cached data.
    ran = bench("run", "--method", "ulip", "--attack", "none", "--seed", "11", *TINY)
    assert ran.returncode == 0, ran.stderr
    records = json.loads(bench("results", "--format", "json").stdout)
    (record,) = [r for r in records if r["cell"]["seed"] == 11]
    path = session_home / "weights" / "ulip" / record["provenance"]["weights"]["file"]
    assert "stale" not in bench("results").stdout
    _, key = recorded(path) or ("", "")
    write_verified(path, path.read_bytes()[:-4] + b"\0\0\0\0", key)  # retrained to other bytes
    marked = bench("results")
    assert "stale: weights rebuilt" in marked.stdout  # a numbered note under the table
    assert "1 cell(s) were computed from trained weights that have since" in marked.stderr


def test_a_run_logged_to_a_file_shows_every_phase(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    env = {**os.environ, "BENCH_HOME": str(tmp_path / "home")}
    with log.open("w") as out:
        command = [sys.executable, "-m", "bench.cli", "run", "--method", "ulip"]
        command += ["--attack", "pgd", "--set", "attack.steps=2", *TINY]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=out, env=env)
    assert done.returncode == 0, log.read_text()
    lines = log.read_text().splitlines()
    for phase in (
        "generate procedural40 train",
        "generate procedural40 test",
        "embed ",
        "train ulip",
    ):
        assert any(phase in line and "(100%)" in line for line in lines), phase
    attacked = "× pgd(steps=2) (seed 0), clean-correct clouds: "  # named as the cell is
    assert any(attacked in line and "ulip(" in line and "(100%)" in line for line in lines)
    assert all(line[2] == ":" and line[5] == ":" for line in lines)  # HH:MM:SS first, no bars


def test_show_lists_parameters_defaults_presets_and_citation() -> None:
    shown = bench("show", "attack", "pgd")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("pgd (attack, v") and "cite: Madry et al." in shown.stdout
    (eps,) = [line for line in lines if line.split()[:1] == ["eps"]]
    assert eps.split() == ["eps", "float", "default", "0.05"]
    assert "preset paper: steps=200, step_size=0.005" in shown.stdout
    assert "threat model: every coordinate moves by at most 0.05" in shown.stdout
    knn = bench("show", "attack", "knn").stdout
    assert "threat model: each point moves a distance of at most 0.1 (the per-point L2 ball" in knn
    assert 'call "L-inf"' in knn
    dup = bench("show", "defense", "dup_net").stdout
    assert "trains: its upsampler v1 network on the victim's corpus, with the cell's seed" in dup
    unknown = bench("show", "attack", "pgdd")
    assert unknown.returncode == 2 and "Did you mean 'pgd'" in unknown.stderr


def test_dry_run_says_what_each_cell_needs() -> None:
    args = ["run", "--method", "ulip", "--attack", "none", "--seed", "9", *TINY]  # its own seed
    fresh = without_torch(*args, "--dry-run")  # planning loads no torch
    assert fresh.returncode == 0 and "will train ulip, then run" in fresh.stdout
    assert bench(*args).returncode == 0
    assert "  stored  " in bench(*args, "--dry-run").stdout
    rerun = bench(*args, "--dry-run", "--rerun").stdout
    assert "will run" in rerun and "train" not in rerun.split("ulip")[0]
    advpc = bench(*[a if a != "none" else "advpc" for a in args], "--dry-run").stdout
    assert "will train autoencoder, then run" in advpc


def without_torch(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", TORCH_PROBE, *args], capture_output=True, text=True
    )
    assert result.stderr.endswith("torch imported: False\n"), result.stderr
    return result


def test_a_stored_cell_and_usage_errors_are_answered_without_torch() -> None:
    args = ["run", "--method", "ulip", "--attack", "none", "--seed", "9", *TINY]  # dry-run's cell
    assert bench(*args).returncode == 0  # computed here, or by the dry-run test already
    # Served from the store, so no device is needed: not even the CUDA this host may lack.
    stored = without_torch(*args, "--device", "cuda", "--wide")
    assert stored.returncode == 0 and "0 computed, 1 from the store" in stored.stdout
    assert "| ulip(" in stored.stdout and "| none |" in stored.stdout
    for wrong, message in (
        (["--attack", "pgdd"], "Unknown attack 'pgdd'. Did you mean 'pgd'"),
        (["--attack", "pgd", "--set", "attack.eps=abc"], "must be of type float"),
        (["--attack", "pgd", "--batch-size", "0"], "--batch-size must be at least 1"),
        (["--attack", "pgd", "--bogus"], "unrecognized arguments: --bogus"),
    ):
        refused = without_torch("run", "--method", "ulip", *wrong)
        assert refused.returncode == 2 and message in refused.stderr


def test_output_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    from bench.storage.store import Store
    from bench.testing.records import stored_record

    store = Store(tmp_path / "store")
    for seed in range(3):
        store.put(stored_record([0] * 5000, seed=seed))  # several pipe buffers of JSON
    env = {**os.environ, "BENCH_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "bench.cli", "results", "--format", "json"]
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert reader.stdout is not None and reader.stderr is not None
    reader.stdout.read(100)  # `head -c 100`, then the reader goes away
    reader.stdout.close()
    error = reader.stderr.read().decode()
    assert reader.wait() == 141 and error == ""


def test_a_home_that_is_a_file_or_missing_is_one_sentence(tmp_path: Path) -> None:
    afile = tmp_path / "not_a_dir"
    afile.write_text("")
    ran = bench("--home", str(afile), "run", "--method", "ulip", "--attack", "none")
    assert ran.returncode == 2 and ran.stderr.startswith("error: Cannot use")
    assert len(ran.stderr.strip().splitlines()) == 1
    missing = bench("--home", str(tmp_path / "typo"), "results")
    assert missing.returncode == 2 and "does not exist: nothing has been run" in missing.stderr


def test_home_applies_to_one_in_process_call_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = os.environ.get("BENCH_HOME")
    (tmp_path / "elsewhere").mkdir()
    assert main(["--home", str(tmp_path / "elsewhere"), "list"]) == 0
    assert os.environ.get("BENCH_HOME") == before  # the caller's next call keeps its own home
