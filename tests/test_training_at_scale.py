"""Training on a published pre-training layout, in two processes under torchrun (gloo), and
resuming a training run killed between epochs to the weights of an uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from bench.testing.public_formats import write_shapenet55_ulip

# The ulip miniature at its smoke size, trained on ULIP's ShapeNet-55 layout.
SMALL = ["--set", "method.num_points=256", "--set", "method.num_groups=16",
         "--set", "method.group_size=16", "--set", "method.depth=1"]  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = write_shapenet55_ulip(tmp_path_factory.mktemp("shapenet-55"), per_class=30, points=256)
    return ["--set", "corpus.name=shapenet55", "--set", f"corpus.root={root}",
            "--set", "corpus.classes=all"]  # fmt: skip


def bench(*args: str, home: Path, launcher: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, *launcher, "-m", "bench.cli", "--home", str(home), *args]


def weights(home: Path) -> dict[str, object]:
    (path,) = (home / "weights" / "ulip").glob("*.safetensors")
    return load_file(path)


def test_two_gloo_processes_train_one_miniature_that_runs_evaluate(
    corpus: list[str], tmp_path: Path
) -> None:
    torchrun = ("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2")
    command = bench("train", "--method", "ulip", *SMALL, *corpus, "--set", "method.epochs=2",
                    home=tmp_path, launcher=torchrun)  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert "trained in 2 processes" in done.stdout and done.stdout.count("trained") == 1
    trained = weights(tmp_path)
    # Evaluation finds those weights when told how they were trained, and only then.
    data = ["--dataset", "shapenet55", "--set", corpus[3].replace("corpus", "dataset")]
    plan = ["run", "--method", "ulip", *SMALL, *corpus, "--set", "method.epochs=2",
            *data, "--classes", "all", "--attack", "none", "--dry-run"]  # fmt: skip
    env = {**os.environ, "BENCH_HOME": str(tmp_path)}
    found = subprocess.run([*bench(*plan, "--training-processes", "2", home=tmp_path)],
                           capture_output=True, text=True, env=env)  # fmt: skip
    assert "will run" in found.stdout and "will train" not in found.stdout, found.stderr
    alone = subprocess.run(bench(*plan, home=tmp_path), capture_output=True, text=True, env=env)
    assert "will train, then run" in alone.stdout
    assert all(value.isfinite().all() for value in trained.values())


def test_training_killed_between_epochs_resumes_to_the_uninterrupted_weights(
    corpus: list[str], tmp_path: Path
) -> None:
    args = ["-v", "train", "--method", "ulip", *SMALL, *corpus, "--set", "method.epochs=4"]
    reference = subprocess.run(bench(*args, home=tmp_path / "a"), capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr
    home = tmp_path / "b"
    process = subprocess.Popen(bench(*args, home=home), stderr=subprocess.DEVNULL)
    state = None
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        state = (
            next((home / "weights" / "ulip").glob("*.resume.pt"), None) if home.is_dir() else None
        )
        if state is not None:
            os.kill(process.pid, signal.SIGKILL)  # after an epoch's state was stored
            break
        time.sleep(0.005)
    process.wait()
    assert state is not None and process.returncode == -signal.SIGKILL, "never caught mid-run"
    assert not list((home / "weights" / "ulip").glob("*.safetensors"))  # nothing half-written
    resumed = subprocess.run(bench(*args, home=home), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming training from" in resumed.stderr
    assert not list((home / "weights" / "ulip").glob("*.resume.pt"))  # done: state removed
    expected, got = weights(tmp_path / "a"), weights(home)
    assert expected.keys() == got.keys()
    assert all((expected[k] == got[k]).all() for k in expected), "resumed weights differ"
