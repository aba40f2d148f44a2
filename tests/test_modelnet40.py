"""ModelNet40 from small files written in each published layout, and one-sentence refusals."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from bench.contracts.errors import DataError, UsageError
from bench.data.classes import MODELNET10, select_classes
from bench.datasets.modelnet40 import ModelNet40, ModelNet40Config
from bench.testing.conformance import smoke_flags
from bench.testing.public_formats import (
    write_modelnet40_h5,
    write_modelnet40_openshape,
    write_modelnet40_resampled,
    write_modelnet40_ulip,
)

WRITERS = {
    "h5": write_modelnet40_h5,
    "resampled": write_modelnet40_resampled,
    "ulip": write_modelnet40_ulip,
    "openshape": write_modelnet40_openshape,
}


def load(root: Path, split: str = "test", **config: object) -> object:
    return ModelNet40(ModelNet40Config(root=str(root), **config)).load(split)  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", sorted(WRITERS))
def test_each_published_layout_loads_and_is_detected(tmp_path: Path, layout: str) -> None:
    root = WRITERS[layout](tmp_path / layout, per_class=2, points=300)
    data = load(root, points=256)
    assert data.points.shape == (80, 256, 3) and data.points.dtype == np.float32
    assert data.class_names[23] == "night stand" and len(data.class_names) == 40
    assert np.bincount(data.labels).tolist() == [2] * 40
    radius = np.linalg.norm(data.points - data.points.mean(axis=1, keepdims=True), axis=2)
    assert np.allclose(radius.max(axis=1), 1.0, atol=1e-5)  # unit sphere
    assert data.fingerprint == load(root, format=layout, points=256).fingerprint
    assert load(root, points=128).fingerprint != data.fingerprint
    ten = select_classes(data, "modelnet10")
    assert ten.class_names == tuple(n for n in data.class_names if n in MODELNET10)
    assert len(ten) == 20


def test_the_first_points_are_kept_and_colour_follows_openshape(tmp_path: Path) -> None:
    root = write_modelnet40_h5(tmp_path / "h5", points=100)
    with h5py.File(root / "ply_data_test0.h5") as file:
        raw = np.asarray(file["data"][0, :10])
    cloud = load(root, points=10).points[0]
    centred = raw - raw.mean(axis=0)
    assert np.allclose(cloud, centred / np.linalg.norm(centred, axis=1).max(), atol=1e-6)
    assert np.allclose(load(root, points=10, rgb=True).points[0, :, 3:], 0.4)  # no colour: 0.4
    shaded = load(write_modelnet40_openshape(tmp_path / "os", points=50), rgb=True)
    assert shaded.points.shape[2] == 6 and np.allclose(shaded.points[..., 3:], 100 / 255)
    train = load(write_modelnet40_resampled(tmp_path / "txt", points=20), split="train")
    assert len(train) == 40 and train.ids[0] == "modelnet40/train/airplane_0001"


def test_missing_files_say_what_is_missing_where_it_is_published_and_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BENCH_MODELNET40", raising=False)
    with pytest.raises(UsageError, match="set its root .* or BENCH_MODELNET40"):
        ModelNet40().load("test")
    with pytest.raises(UsageError, match="does not exist"):
        load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="holds none of ModelNet40's published layouts"):
        load(tmp_path / "empty")
    with pytest.raises(UsageError, match=r"shape_names.txt is missing: .* modelnet40_ply_hdf5"):
        load(tmp_path / "empty", format="h5")
    root = write_modelnet40_h5(tmp_path / "h5", points=16)
    (root / "ply_data_test0.h5").unlink()
    with pytest.raises(
        UsageError, match="ply_data_test0.h5, listed in .*test_files.txt, is missing"
    ):
        load(root)
    monkeypatch.setenv("BENCH_MODELNET40", str(write_modelnet40_h5(tmp_path / "env", points=16)))
    assert len(ModelNet40().load("test")) == 40  # the environment variable points there
    with pytest.raises(UsageError, match="test split only"):
        load(write_modelnet40_openshape(tmp_path / "os", points=16), split="train")


def test_malformed_files_are_one_clear_error(tmp_path: Path) -> None:
    root = write_modelnet40_h5(tmp_path / "h5", points=16)
    with h5py.File(root / "ply_data_test0.h5", "w") as file:
        file.create_dataset("data", data=np.zeros((4, 16, 3), np.float32))
    with pytest.raises(DataError, match="not a ModelNet40 h5 file with 'data' and 'label'"):
        load(root)
    (root / "ply_data_test0.h5").write_bytes(b"not an h5 file")
    with pytest.raises(DataError, match="not a ModelNet40 h5 file"):
        load(root)

    text = write_modelnet40_resampled(tmp_path / "txt", points=8)
    np.savetxt(text / "airplane" / "airplane_1000.txt", np.zeros((8, 3)), delimiter=",")
    with pytest.raises(DataError, match="has 3 columns; the resampled files have 6"):
        load(text)
    (text / "modelnet40_shape_names.txt").write_text("airplane\nbathtub\n")
    with pytest.raises(DataError, match="lists 2 class names; ModelNet40 has 40"):
        load(text)

    shaded = write_modelnet40_openshape(tmp_path / "os", points=8)
    (shaded / "test_split.json").write_text('[{"name": "a"}]')
    with pytest.raises(DataError, match=r"not a list of \{name, category\}"):
        load(shaded)


def test_a_data_file_that_would_run_code_is_refused_before_it_runs(tmp_path: Path) -> None:
    root = write_modelnet40_openshape(tmp_path / "os", per_class=1, points=8)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    clouds = np.empty(40, dtype=object)
    clouds[:] = [Payload() for _ in range(40)]
    np.save(root / "test_pc.npy", clouds, allow_pickle=True)
    with pytest.raises(DataError, match="asks to run .*system while loading"):
        load(root)
    assert not marker.exists()
    ulip = write_modelnet40_ulip(tmp_path / "ulip", points=8)
    with (ulip / "modelnet40_test_8192pts_fps.dat").open("wb") as file:
        pickle.dump([[Payload()], [np.zeros(1)]], file)
    with pytest.raises(DataError, match="asks to run .*system while loading"):
        load(ulip)
    assert not marker.exists()


def test_bench_runs_zero_shot_on_modelnet40_files(tmp_path: Path) -> None:
    """A new user's command: the miniature trained on procedural40's 30 seen classes, evaluated
    on ModelNet40's 10 unseen ones from files in the published h5 layout."""
    root = write_modelnet40_h5(tmp_path / "modelnet40_ply_hdf5_2048", per_class=2, points=256)
    env = {**os.environ, "BENCH_HOME": str(tmp_path / "home"), "BENCH_MODELNET40": str(root)}
    command = [sys.executable, "-m", "bench.cli", "run", "--method", "ulip", "--attack", "none"]
    command += ["--dataset", "modelnet40", *smoke_flags("methods", "ulip"), "--wide"]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "modelnet40[unseen]" in done.stdout and "zero-shot" in done.stdout
    row = next(line for line in done.stdout.splitlines() if "modelnet40[unseen]" in line)
    assert "| 20 |" in row  # 2 clouds of each of the 10 unseen classes
