"""Crash safety with real processes killed by SIGKILL: a killed holder's claim passes on, two
drivers on one store compute each cell once, and a run whose driver or Ray worker is killed in
training or in the middle of a cell resumes to exactly the records of an uninterrupted run.
A run stopped with Ctrl-C says what it stored and saved, and its rerun what it resumed from."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.storage.claims import claim
from bench.storage.store import Record, Store
from bench.testing.conformance import smoke_params

SPEC = {
    "name": "crash",
    "methods": [{"name": "ulip", "params": smoke_params("methods", "ulip")}],
    # Two clouds per class: 4 the miniature classifies correctly, so an attacked cell has
    # batches left to compute after its first saved one, the moment the tests kill at.
    "datasets": [{"name": "procedural40", "params": {"test_per_class": 2}}],
    "attacks": [
        "none",
        {"name": "pgd", "params": {"eps": 0.02, "steps": 300, "step_size": 0.002}},
        {"name": "noise", "params": {"eps": 0.02}},
    ],
}
CACHES = ("data", "embeddings")  # generated clouds and text embeddings: shared, not under test
BATCH = "1"  # one cloud per batch, so a cell has many batches to be killed between


def bench_command(home: Path, spec: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bench.cli", "--home", str(home), "-v", "run"] + [
        "--spec", str(spec), "--batch-size", BATCH, *extra
    ]  # fmt: skip


def start(home: Path, spec: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            bench_command(home, spec, *extra), stdout=sink, stderr=subprocess.STDOUT
        )


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    """Poll until `condition` holds; fail if the process ends first."""
    deadline = time.monotonic() + 300
    while not condition():
        assert process.poll() is None, "the run ended before the moment it was to be killed at"
        assert time.monotonic() < deadline, "the moment to kill never came"
        time.sleep(0.02)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL


def finish(home: Path, spec: Path, log: Path, *extra: str) -> str:
    process = start(home, spec, log, *extra)
    assert process.wait(timeout=600) == 0, log.read_text()
    return log.read_text()


def comparable(record: Record) -> dict[str, Any]:
    """What a record says about its cell, less when and how fast it was computed."""
    metrics = {k: v for k, v in record.metrics.items() if k != "wall_s"}
    weights = record.provenance["weights"]
    return {
        "status": record.status,
        "cell": record.cell,
        "labels": record.labels,
        "metrics": metrics,
        "samples": record.samples,
        "weights": weights["sha256"],
    }


def records(home: Path) -> dict[str, Record]:
    found = list(Store(home / "store").scan())
    assert all(isinstance(r, Record) for r in found), found
    return {r.cell_hash: r for r in found}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "crash.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, spec_file: Path) -> Path:
    """The home of an uninterrupted run: its records are what every resumed run must equal."""
    home = tmp_path_factory.mktemp("reference")
    finish(home, spec_file, home / "run.log")
    assert len(records(home)) == len(SPEC["attacks"])
    return home


def unfinished_partials(home: Path) -> list[Path]:
    """Saved batches of cells not yet stored: a cell in the middle of being computed."""
    store = home / "store"
    done = {path.stem for path in store.glob("cells/*/*.json")}
    return [path for path in store.glob("partial/*/*.json") if path.stem not in done]


def fresh_home(tmp_path: Path, reference: Path) -> Path:
    """An empty store and weights cache, with the reference's data caches copied in."""
    home = tmp_path / "home"
    for name in CACHES:
        shutil.copytree(reference / name, home / name)
    return home


def assert_same_records(home: Path, reference: Path) -> None:
    mine, theirs = records(home), records(reference)
    assert sorted(mine) == sorted(theirs)
    for key, record in mine.items():
        assert comparable(record) == comparable(theirs[key]), record.labels["attack"]
    assert not list((home / "store").glob("partial/*/*.json"))  # nothing left half done


def test_the_claim_of_a_killed_holder_passes_to_the_next(tmp_path: Path) -> None:
    lock = tmp_path / "cell.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from bench.storage.claims import claim\n"
            f"with claim(Path({str(lock)!r})):\n print('held', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    with claim(lock, wait=False) as held:
        assert not held  # a live holder keeps it
    kill(holder)
    with claim(lock, wait=False) as held:
        assert held  # the dead one's claim is not stale for a second


def test_a_driver_killed_in_training_resumes_to_the_uninterrupted_records(
    tmp_path: Path, spec_file: Path, reference: Path
) -> None:
    home = fresh_home(tmp_path, reference)
    log = tmp_path / "run.log"
    driver = start(home, spec_file, log)
    wait_for(lambda: "train ulip" in log.read_text(), driver)
    kill(driver)
    assert not list((home / "weights").glob("*/*.safetensors"))  # killed before it saved
    assert not (home / "store" / "cells").exists()

    finish(home, spec_file, log)
    assert_same_records(home, reference)


def test_a_driver_killed_in_a_cell_resumes_from_its_saved_batches(
    tmp_path: Path, spec_file: Path, reference: Path
) -> None:
    home = fresh_home(tmp_path, reference)
    log = tmp_path / "run.log"
    driver = start(home, spec_file, log)
    wait_for(lambda: bool(unfinished_partials(home)), driver)
    kill(driver)
    assert unfinished_partials(home)
    finished_before = records(home)

    output = finish(home, spec_file, tmp_path / "rerun.log")
    assert re.search(r"resumed .+: [1-9]\d* of \d+ samples to attack saved by an", output), output
    assert f"{len(finished_before)} from the store" in output
    assert_same_records(home, reference)
    for key, record in records(home).items():  # no finished record was rewritten
        if key in finished_before:
            assert record == finished_before[key]
        else:
            assert not record.provenance["weights"]["trained_now"]  # weights were kept


def test_ctrl_c_says_what_it_saved_and_the_rerun_says_it_resumed_from_it(
    tmp_path: Path, reference: Path
) -> None:
    home = fresh_home(tmp_path, reference)
    shutil.copytree(reference / "weights", home / "weights")  # the cells are under test here
    cheap = tmp_path / "crash.yaml"  # the reference's cells but the long PGD one
    cheap.write_text(yaml.safe_dump({**SPEC, "attacks": [SPEC["attacks"][0], SPEC["attacks"][2]]}))
    quiet = [arg for arg in bench_command(home, cheap) if arg != "-v"]  # what every user sees
    log = tmp_path / "run.log"
    with log.open("ab") as sink:
        driver = subprocess.Popen(quiet, stdout=sink, stderr=subprocess.STDOUT)
    wait_for(lambda: bool(unfinished_partials(home)), driver)
    driver.send_signal(signal.SIGINT)
    assert driver.wait(timeout=120) == 130
    said = re.search(
        r"^interrupted: (\d) of 2 cell\(s\) finished and stored, ([1-9]\d*) attacked samples?"
        r" of (.+) saved; run the same command to resume\.$",
        log.read_text(),
        re.MULTILINE,
    )
    assert said, log.read_text()
    assert int(said[1]) == len(records(home))

    rerun = tmp_path / "rerun.log"
    with rerun.open("ab") as sink:
        assert subprocess.run(quiet, stdout=sink, stderr=subprocess.STDOUT).returncode == 0
    resumed = f"resumed {said[3]}: {said[2]} of "
    assert resumed in rerun.read_text() and "saved by an interrupted run" in rerun.read_text()
    mine, theirs = records(home), records(reference)
    assert len(mine) == 2 and all(comparable(r) == comparable(theirs[k]) for k, r in mine.items())
    assert not list((home / "store").glob("partial/*/*.json"))


def test_two_drivers_on_one_store_compute_each_cell_once(
    tmp_path: Path, spec_file: Path, reference: Path
) -> None:
    home = fresh_home(tmp_path, reference)
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    drivers = [start(home, spec_file, log) for log in logs]
    for driver, log in zip(drivers, logs, strict=True):
        assert driver.wait(timeout=600) == 0, log.read_text()
    computed = [
        int(re.search(r"(\d+) computed", log.read_text()).group(1))  # type: ignore[union-attr]
        for log in logs
    ]
    assert sum(computed) == len(SPEC["attacks"]), computed
    assert_same_records(home, reference)
    trained = [r.provenance["weights"]["trained_now"] for r in records(home).values()]
    assert trained.count(True) == 1  # one training between both drivers
    assert len(list((home / "weights").glob("*/*.safetensors"))) == 1


def ray_worker_running(task: str) -> bool:
    return subprocess.run(["pgrep", "-f", f"ray::{task}"], capture_output=True).returncode == 0


def kill_ray_worker(task: str) -> None:
    killed = subprocess.run(["pkill", "-KILL", "-f", f"ray::{task}"], check=False)
    assert killed.returncode == 0, f"no Ray worker was running {task}"


def kill_ray_worker_mid_cell(home: Path, driver: subprocess.Popen[bytes]) -> None:
    """Kill the worker of a cell that has saved batches and not finished. A fast cell (the
    noise attack's) can finish between the look and the kill: then wait for the next one."""
    while True:
        wait_for(lambda: bool(unfinished_partials(home)), driver)
        killed = subprocess.run(["pkill", "-KILL", "-f", "ray::_remote_cell"], check=False)
        if killed.returncode == 0:
            return
        time.sleep(0.02)


@pytest.mark.skipif(shutil.which("pkill") is None, reason="needs pkill to find the Ray workers")
def test_ray_workers_killed_in_training_and_in_a_cell_are_retried_to_the_uninterrupted_records(
    tmp_path: Path, spec_file: Path, reference: Path
) -> None:
    home = fresh_home(tmp_path, reference)
    log = tmp_path / "run.log"
    # Two CPUs per cell: Ray gives the worker as many torch threads as the reference had, and
    # floating-point sums (so trained weights) depend on the thread count.
    driver = start(home, spec_file, log, "--executor", "ray", "--cpus-per-cell", "2")
    wait_for(lambda: ray_worker_running("_remote_training"), driver)
    kill_ray_worker("_remote_training")
    assert not list((home / "weights").glob("*/*.safetensors"))  # killed before it saved
    kill_ray_worker_mid_cell(home, driver)
    assert driver.wait(timeout=600) == 0, log.read_text()
    assert_same_records(home, reference)
    assert len(list((home / "weights").glob("*/*.safetensors"))) == 1


def test_a_ray_driver_killed_in_a_cell_resumes_to_the_uninterrupted_records(
    tmp_path: Path, spec_file: Path, reference: Path
) -> None:
    home = fresh_home(tmp_path, reference)
    log = tmp_path / "run.log"
    ray_options = ("--executor", "ray", "--cpus-per-cell", "2")  # threads as the reference had
    driver = start(home, spec_file, log, *ray_options)
    wait_for(lambda: bool(unfinished_partials(home)), driver)
    kill(driver)
    finish(home, spec_file, tmp_path / "rerun.log", *ray_options)
    assert_same_records(home, reference)
