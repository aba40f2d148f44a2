"""Training on a published pre-training layout, in two processes under torchrun (gloo), and
resuming a training run killed between epochs to the weights of an uninterrupted one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from bench.cli import main
from bench.testing.conformance import smoke_flags
from bench.testing.public_formats import write_shapenet55_ulip

# Miniatures at their smoke sizes, trained on ULIP's ShapeNet-55 layout.
SMALL = ["--set", "method.num_points=256", "--set", "method.num_groups=16",
         "--set", "method.group_size=16", "--set", "method.depth=1"]  # fmt: skip
DUAL = smoke_flags("methods", "dual_denoise")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = write_shapenet55_ulip(tmp_path_factory.mktemp("shapenet-55"), per_class=20, points=256)
    return ["--set", "corpus.name=shapenet55", "--set", f"corpus.root={root}",
            "--set", "corpus.classes=all"]  # fmt: skip


def bench(*args: str, home: Path, launcher: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, *launcher, "-m", "bench.cli", "--home", str(home), *args]


def weights(home: Path, method: str = "ulip") -> dict[str, object]:
    (path,) = (home / "weights" / method).glob("*.safetensors")
    return load_file(path)


def test_two_gloo_processes_train_one_miniature_that_runs_evaluate(
    corpus: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    torchrun = ("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2")
    recipe = ["--method", "dual_denoise", *DUAL, *corpus, "--set", "method.epochs=2"]
    command = bench("train", *recipe, home=tmp_path, launcher=torchrun)
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert "trained in 2 processes" in done.stdout and done.stdout.count("trained") == 1
    trained = weights(tmp_path, "dual_denoise")
    # Evaluation finds those weights when told how they were trained, and only then.
    data = ["--dataset", "shapenet55", "--set", corpus[3].replace("corpus", "dataset")]
    plan = ["run", *recipe, *data, "--classes", "all", "--attack", "none", "--dry-run"]
    monkeypatch.setenv("BENCH_HOME", str(tmp_path))
    assert main([*plan, "--training-processes", "2"]) == 0
    found = capsys.readouterr().out
    assert "will run" in found and "will train" not in found
    assert main(plan) == 0 and "will train dual_denoise, then run" in capsys.readouterr().out
    assert all(value.isfinite().all() for value in trained.values())


def test_training_killed_between_epochs_resumes_to_the_uninterrupted_weights(
    corpus: list[str], tmp_path: Path
) -> None:
    args = ["-v", "train", "--method", "ulip", *SMALL, *corpus, "--set", "method.epochs=3"]
    reference = subprocess.run(bench(*args, home=tmp_path / "a"), capture_output=True, text=True)
    assert reference.returncode == 0, reference.stderr
    home = tmp_path / "b"
    shutil.copytree(tmp_path / "a" / "embeddings", home / "embeddings")  # the teacher's, cached
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


def test_shapenet55_reads_ulips_layout_and_refuses_malformed_files(tmp_path: Path) -> None:
    import numpy as np

    from bench.contracts.errors import DataError, UsageError
    from bench.datasets.shapenet55 import ShapeNet55, ShapeNet55Config

    root = write_shapenet55_ulip(tmp_path / "shapenet-55", per_class=2, points=300)
    data = ShapeNet55(ShapeNet55Config(root=str(root), points=128)).load("train")
    assert data.class_names == ("airplane", "chair", "lamp", "table")  # synset order, first name
    assert data.points.shape == (8, 128, 3) and data.ids[0].startswith("shapenet55/02691156-")
    assert np.allclose(np.linalg.norm(data.points, axis=2).max(axis=1), 1, atol=1e-5)
    load = ShapeNet55(ShapeNet55Config(root=str(root))).load
    with pytest.raises(UsageError, match="splits train and test"):
        load("val")
    first = (root / "train.txt").read_text().split()[0]
    np.save(root / "shapenet_pc" / first, np.zeros((5, 2)))
    with pytest.raises(DataError, match=r"shape \(5, 2\), not N x 3"):
        load("train")
    (root / "shapenet_pc" / first).unlink()
    with pytest.raises(UsageError, match="listed in .*train.txt, is missing"):
        load("train")
    (root / "taxonomy.json").write_text('{"not": "a list"}')
    with pytest.raises(DataError, match="not a list of {synsetId, name} entries"):
        load("test")
    (root / "taxonomy.json").unlink()
    with pytest.raises(UsageError, match="taxonomy.json is missing"):
        load("test")
