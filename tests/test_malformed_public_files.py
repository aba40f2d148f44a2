"""Malformed public dataset files: each is one sentence naming the file, never a traceback,
and never data silently reshaped, truncated or cast.

Every case writes a small, valid dataset in its published layout (`bench.testing.public_formats`)
and then damages one file the way a bad download, a hand-made conversion or a different release
would: empty or wrongly shaped arrays, strings, booleans or complex numbers where coordinates or
labels belong, NaN, ragged clouds, non-integer or out-of-range labels, colours that do not match
their clouds, 0-d arrays, truncated files, missing keys.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from bench.contracts.errors import DataError
from bench.datasets.modelnet40 import ModelNet40, ModelNet40Config
from bench.datasets.objaverse_lvis import ObjaverseLvis, ObjaverseLvisConfig
from bench.datasets.scanobjectnn import ScanObjectNN, ScanObjectNNConfig
from bench.datasets.shapenet55 import ShapeNet55, ShapeNet55Config
from bench.testing.public_formats import (
    write_modelnet40_h5,
    write_modelnet40_openshape,
    write_modelnet40_resampled,
    write_modelnet40_ulip,
    write_objaverse_lvis_openshape,
    write_scanobjectnn_h5,
    write_scanobjectnn_openshape,
    write_shapenet55_ulip,
)

POINTS = 16  # every cloud the writers make here
MISSING = object()  # an h5 key or dict field left out
GROUP = object()  # an h5 group where a dataset belongs
Load = Callable[[], Any]
Case = Callable[[Path], tuple[Load, Path]]  # writes a damaged dataset: (its load, the bad file)


def _clouds(count: int, points: int = POINTS, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(count).uniform(-1, 1, (count, points, channels)).astype("f4")


def _with(array: np.ndarray, index: tuple[int, ...], value: float) -> np.ndarray:
    array = array.copy()
    array[index] = value
    return array


def _rewrite_h5(path: Path, changes: dict[str, Any]) -> None:
    with h5py.File(path, "r") as file:
        keys = {key: file[key][()] for key in file}
    keys.update(changes)
    with h5py.File(path, "w") as file:
        for key, value in keys.items():
            if value is GROUP:
                file.create_group(key)
            elif value is not MISSING:
                file.create_dataset(key, data=value)


def _npy_dict(path: Path, content: dict[str, Any]) -> None:
    stored = np.empty((), dtype=object)
    stored[()] = {key: value for key, value in content.items() if value is not MISSING}
    np.save(path, stored, allow_pickle=True)


def modelnet40_h5(**changes: Any) -> Case:
    """ModelNet40's test file `ply_data_test0.h5` (40 clouds, label N x 1 uint8), changed."""

    def build(tmp: Path) -> tuple[Load, Path]:
        root = write_modelnet40_h5(tmp, points=POINTS)
        path = root / "ply_data_test0.h5"
        _rewrite_h5(path, changes)
        return lambda: ModelNet40(ModelNet40Config(root=str(root))).load("test"), path

    return build


def scanobjectnn_h5(**changes: Any) -> Case:
    """ScanObjectNN's OBJ_ONLY test file (15 clouds, label N int64), changed."""

    def build(tmp: Path) -> tuple[Load, Path]:
        root = write_scanobjectnn_h5(tmp, points=POINTS)
        path = root / "main_split_nobg" / "test_objectdataset.h5"
        _rewrite_h5(path, changes)
        return lambda: ScanObjectNN(ScanObjectNNConfig(root=str(root))).load("test"), path

    return build


def scanobjectnn_openshape(stored: Any = None, **changes: Any) -> Case:
    """OpenShape's `xyz_label.npy` (a dict of 30 clouds, 30 labels), changed."""

    def build(tmp: Path) -> tuple[Load, Path]:
        root = write_scanobjectnn_openshape(tmp, count=30, points=POINTS)
        path = root / "xyz_label.npy"
        if stored is not None:
            np.save(path, stored, allow_pickle=True)
        else:
            _npy_dict(path, {"xyz": _clouds(30), "label": np.arange(30) % 15, **changes})
        config = ScanObjectNNConfig(root=str(root), variant="openshape", rgb=True)
        return lambda: ScanObjectNN(config).load("test"), path

    return build


def modelnet40_ulip(clouds: Any = None, labels: Any = None, stored: Any = None) -> Case:
    """ULIP's `modelnet40_test_8192pts_fps.dat` (a pickle of [clouds, labels]), changed."""

    def build(tmp: Path) -> tuple[Load, Path]:
        root = write_modelnet40_ulip(tmp, points=POINTS)
        path = root / "modelnet40_test_8192pts_fps.dat"
        valid = [list(_clouds(40, channels=6)), [np.array([c], np.int32) for c in range(40)]]
        written = stored if stored is not None else [
            valid[0] if clouds is None else clouds,
            valid[1] if labels is None else labels,
        ]  # fmt: skip
        with path.open("wb") as file:
            pickle.dump(written, file)
        return lambda: ModelNet40(ModelNet40Config(root=str(root))).load("test"), path

    return build


def modelnet40_openshape(first: dict[str, Any] | None = None, stored: Any = None) -> Case:
    """OpenShape's `test_pc.npy` (an object array of 40 {xyz, rgb} dicts), entry 0 changed."""

    def build(tmp: Path) -> tuple[Load, Path]:
        root = write_modelnet40_openshape(tmp, points=POINTS)
        path = root / "test_pc.npy"
        if stored is not None:
            np.save(path, stored, allow_pickle=True)
        else:
            entries = np.load(path, allow_pickle=True)
            entries[0] = {
                key: value
                for key, value in {**entries[0], **(first or {})}.items()
                if value is not MISSING
            }
            np.save(path, entries, allow_pickle=True)
        config = ModelNet40Config(root=str(root), rgb=True)
        return lambda: ModelNet40(config).load("test"), path

    return build


def modelnet40_resampled(text: str) -> Case:
    """PointNet++'s `airplane/airplane_1000.txt` (x,y,z,nx,ny,nz rows), replaced by `text`."""

    def build(tmp: Path) -> tuple[Load, Path]:
        root = write_modelnet40_resampled(tmp, points=POINTS)
        path = root / "airplane" / "airplane_1000.txt"
        path.write_text(text)
        return lambda: ModelNet40(ModelNet40Config(root=str(root))).load("test"), path

    return build


def shapenet55(cloud: Any = None, raw: bytes | None = None, listing: bytes | None = None) -> Case:
    """ShapeNet-55's first test cloud (a plain 8,192 x 3 npy), or its listing, replaced."""

    def build(tmp: Path) -> tuple[Load, Path]:
        root = write_shapenet55_ulip(tmp, per_class=1, points=POINTS)
        path = root / "shapenet_pc" / (root / "test.txt").read_text().split()[0]
        if listing is not None:
            path = root / "test.txt"
            path.write_bytes(listing)
        elif raw is not None:
            path.write_bytes(raw)
        else:
            np.save(path, cloud, allow_pickle=True)
        return lambda: ShapeNet55(ShapeNet55Config(root=str(root))).load("test"), path

    return build


def objaverse_lvis(listing: Any = None, **changes: Any) -> Case:
    """The first Objaverse-LVIS object (a {xyz, rgb} npy dict), or OpenShape's listing, changed."""

    def build(tmp: Path) -> tuple[Load, Path]:
        root = write_objaverse_lvis_openshape(tmp, per_class=1, points=POINTS)
        listed = root / "split" / "lvis.json"
        path = root / json.loads(listed.read_text())[0]["data_path"]
        if listing is not None:
            listed.write_text(json.dumps(listing))
            path = listed
        elif "stored" in changes:
            np.save(path, changes["stored"], allow_pickle=True)
        else:
            content = {"xyz": _clouds(1)[0], "rgb": np.full((POINTS, 3), 0.5, "f4"), **changes}
            _npy_dict(path, content)
        config = ObjaverseLvisConfig(root=str(root), rgb=True)
        return lambda: ObjaverseLvis(config).load("test"), path

    return build


TEXT = np.array([[[b"0.1", b"0.2", b"0.3"]] * POINTS] * 40)
VLEN = np.array([["a"] * POINTS] * 40, dtype=h5py.string_dtype())
H5_LABELS = np.arange(40, dtype=np.uint8).reshape(-1, 1)
ULIP_CLOUDS = list(_clouds(40, channels=6))
SHORT_ULIP = [*ULIP_CLOUDS[:3], ULIP_CLOUDS[3][:10], *ULIP_CLOUDS[4:]]
LVIS_XYZ = _clouds(1)[0]

CASES: dict[str, Case] = {
    # ModelNet40 h5: the 'data' array
    "h5 data empty": modelnet40_h5(data=np.zeros((0, POINTS, 3), "f4"), label=H5_LABELS[:0]),
    "h5 data N x 0 x 3": modelnet40_h5(data=np.zeros((40, 0, 3), "f4")),
    "h5 data 1-D": modelnet40_h5(data=_clouds(40).reshape(-1)),
    "h5 data 2-D": modelnet40_h5(data=_clouds(40).reshape(40, -1)),
    "h5 data 4-D": modelnet40_h5(data=_clouds(40)[..., None]),
    "h5 data 0-d": modelnet40_h5(data=np.float32(1.0)),
    "h5 data 2 channels": modelnet40_h5(data=_clouds(40, channels=2)),
    "h5 data 4 channels": modelnet40_h5(data=_clouds(40, channels=4)),
    "h5 data 6 channels": modelnet40_h5(data=_clouds(40, channels=6)),
    "h5 data strings": modelnet40_h5(data=TEXT),
    "h5 data variable-length strings": modelnet40_h5(data=VLEN),
    "h5 data bool": modelnet40_h5(data=_clouds(40) > 0),
    "h5 data complex": modelnet40_h5(data=_clouds(40) * 1j),
    "h5 data integers": modelnet40_h5(data=np.ones((40, POINTS, 3), np.int32)),
    "h5 data NaN": modelnet40_h5(data=_with(_clouds(40), (3, 5, 1), np.nan)),
    "h5 data inf": modelnet40_h5(data=_with(_clouds(40), (3, 5, 1), np.inf)),
    "h5 data is a group": modelnet40_h5(data=GROUP),
    "h5 data missing": modelnet40_h5(data=MISSING),
    # ModelNet40 h5: the 'label' array
    "h5 label strings": modelnet40_h5(label=np.array([[b"chair"]] * 40)),
    "h5 label float 1.7": modelnet40_h5(label=np.full((40, 1), 1.7, "f4")),
    "h5 label NaN": modelnet40_h5(label=np.full((40, 1), np.nan)),
    "h5 label bool": modelnet40_h5(label=np.ones((40, 1), bool)),
    "h5 label complex": modelnet40_h5(label=np.ones((40, 1), complex)),
    "h5 label negative": modelnet40_h5(label=np.full((40, 1), -1, np.int64)),
    "h5 label out of range": modelnet40_h5(label=np.full((40, 1), 40, np.int64)),
    "h5 label count": modelnet40_h5(label=H5_LABELS[:39]),
    "h5 label N x 2": modelnet40_h5(label=np.zeros((40, 2), np.uint8)),
    "h5 label 0-d": modelnet40_h5(label=np.uint8(3)),
    "h5 label missing": modelnet40_h5(label=MISSING),
    # ScanObjectNN h5, through the same checks
    "scanobjectnn data strings": scanobjectnn_h5(data=TEXT[:15]),
    "scanobjectnn data 2-D": scanobjectnn_h5(data=_clouds(15).reshape(15, -1)),
    "scanobjectnn data empty": scanobjectnn_h5(data=np.zeros((0, 16, 3), "f4"), label=[]),
    "scanobjectnn data N x 0 x 3": scanobjectnn_h5(data=np.zeros((15, 0, 3), "f4")),
    "scanobjectnn data complex": scanobjectnn_h5(data=_clouds(15) + 0j),
    "scanobjectnn label float 1.7": scanobjectnn_h5(label=np.full(15, 1.7)),
    "scanobjectnn label strings": scanobjectnn_h5(label=np.array([b"bag"] * 15)),
    "scanobjectnn label out of range": scanobjectnn_h5(label=np.full(15, 15)),
    "scanobjectnn label count": scanobjectnn_h5(label=np.zeros(14, np.int64)),
    "scanobjectnn label missing": scanobjectnn_h5(label=MISSING),
    # OpenShape's ScanObjectNN dict
    "scanobjectnn npy xyz strings": scanobjectnn_openshape(xyz=np.full((30, 16, 3), "x")),
    "scanobjectnn npy xyz ragged": scanobjectnn_openshape(
        xyz=[*_clouds(29), _clouds(1, points=10)[0]]
    ),
    "scanobjectnn npy xyz 2-D": scanobjectnn_openshape(xyz=_clouds(30).reshape(30, -1)),
    "scanobjectnn npy label float 1.7": scanobjectnn_openshape(label=np.full(30, 1.7)),
    "scanobjectnn npy label count": scanobjectnn_openshape(label=np.zeros(29, np.int64)),
    "scanobjectnn npy rgb wrong length": scanobjectnn_openshape(rgb=_clouds(30, points=8)),
    "scanobjectnn npy rgb strings": scanobjectnn_openshape(rgb=np.full((30, 16, 3), "red")),
    "scanobjectnn npy 0-d array": scanobjectnn_openshape(stored=np.array(3.0)),
    "scanobjectnn npy list of dicts": scanobjectnn_openshape(stored=np.array([{}, {}])),
    # ULIP's ModelNet40 .dat pickles
    "ulip short cloud": modelnet40_ulip(clouds=SHORT_ULIP),
    "ulip label float 1.7": modelnet40_ulip(labels=[np.array([1.7])] * 40),
    "ulip label two values": modelnet40_ulip(labels=[np.array([1, 2])] * 40),
    "ulip label empty": modelnet40_ulip(labels=[np.array([], np.int32)] * 40),
    "ulip label strings": modelnet40_ulip(labels=["chair"] * 40),
    "ulip label negative": modelnet40_ulip(labels=[np.array([-3])] * 40),
    "ulip label out of range": modelnet40_ulip(labels=[np.array([40])] * 40),
    "ulip labels ragged": modelnet40_ulip(labels=[np.array([1]), *[np.array([1, 2])] * 39]),
    "ulip cloud 1-D": modelnet40_ulip(clouds=[ULIP_CLOUDS[0].reshape(-1), *ULIP_CLOUDS[1:]]),
    "ulip cloud 2 channels": modelnet40_ulip(clouds=[c[:, :2] for c in ULIP_CLOUDS]),
    "ulip cloud strings": modelnet40_ulip(clouds=[np.full((16, 6), "a"), *ULIP_CLOUDS[1:]]),
    "ulip cloud NaN": modelnet40_ulip(clouds=[_with(ULIP_CLOUDS[0], (2, 2), np.nan)] * 40),
    "ulip cloud zero points": modelnet40_ulip(clouds=[np.zeros((0, 6), "f4"), *ULIP_CLOUDS[1:]]),
    "ulip cloud is a dict": modelnet40_ulip(clouds=[{"xyz": 1}, *ULIP_CLOUDS[1:]]),
    "ulip clouds not a list": modelnet40_ulip(clouds=5),
    "ulip clouds a 0-d array": modelnet40_ulip(clouds=np.array(3.0)),
    "ulip empty": modelnet40_ulip(stored=[[], []]),
    "ulip count mismatch": modelnet40_ulip(labels=[np.array([1])] * 39),
    "ulip not a pair": modelnet40_ulip(stored={"clouds": []}),
    # OpenShape's ModelNet40 test_pc.npy
    "openshape 0-d object array": modelnet40_openshape(stored=np.array({"xyz": LVIS_XYZ})),
    "openshape xyz strings": modelnet40_openshape({"xyz": np.full((16, 3), "a")}),
    "openshape xyz 1-D": modelnet40_openshape({"xyz": LVIS_XYZ.reshape(-1)}),
    "openshape xyz 2 channels": modelnet40_openshape({"xyz": LVIS_XYZ[:, :2]}),
    "openshape xyz short cloud": modelnet40_openshape(
        {"xyz": LVIS_XYZ[:10], "rgb": np.full((10, 3), 100.0)}
    ),
    "openshape xyz NaN": modelnet40_openshape({"xyz": _with(LVIS_XYZ, (0, 0), np.nan)}),
    "openshape rgb wrong length": modelnet40_openshape({"rgb": np.full((10, 3), 100.0)}),
    "openshape rgb strings": modelnet40_openshape({"rgb": np.full((16, 3), "red")}),
    "openshape entry not a dict": modelnet40_openshape({"xyz": MISSING}),
    "openshape rgb on some entries only": modelnet40_openshape({"rgb": MISSING}),
    # PointNet++'s resampled text files
    "resampled empty file": modelnet40_resampled(""),
    "resampled NaN": modelnet40_resampled("nan,0,0,0,1,0\n" * POINTS),
    "resampled short cloud": modelnet40_resampled("0.1,0.2,0.3,0,1,0\n" * 3),
    "resampled 3 columns": modelnet40_resampled("0.1,0.2,0.3\n" * POINTS),
    "resampled ragged rows": modelnet40_resampled("0.1,0.2,0.3,0,1,0\n0.1,0.2\n"),
    # ShapeNet-55's npy clouds and listing
    "shapenet 1-D": shapenet55(np.zeros(48, "f4")),
    "shapenet 3-D": shapenet55(_clouds(1)),
    "shapenet 2 channels": shapenet55(_clouds(1, channels=2)[0]),
    "shapenet strings": shapenet55(np.full((POINTS, 3), "a")),
    "shapenet bool": shapenet55(np.ones((POINTS, 3), bool)),
    "shapenet complex": shapenet55(_clouds(1)[0] + 1j),
    "shapenet object array": shapenet55(np.array([{"xyz": 1}], dtype=object)),
    "shapenet zero points": shapenet55(np.zeros((0, 3), "f4")),
    "shapenet NaN": shapenet55(_with(_clouds(1)[0], (1, 1), np.nan)),
    "shapenet short cloud": shapenet55(_clouds(1, points=10)[0]),
    "shapenet 0-d": shapenet55(np.float32(2.0)),
    "shapenet truncated": shapenet55(raw=b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fort"),
    "shapenet listing not text": shapenet55(listing=b"\xff\xfe\x00bad"),
    "shapenet listing empty": shapenet55(listing=b"\n"),
    # Objaverse-LVIS object dicts and listing
    "lvis 0-d not a dict": objaverse_lvis(stored=np.array(3.0)),
    "lvis xyz strings": objaverse_lvis(xyz=np.full((POINTS, 3), "a")),
    "lvis xyz 1-D": objaverse_lvis(xyz=LVIS_XYZ.reshape(-1)),
    "lvis xyz complex": objaverse_lvis(xyz=LVIS_XYZ + 1j),
    "lvis xyz bool": objaverse_lvis(xyz=LVIS_XYZ > 0),
    "lvis xyz ragged rows": objaverse_lvis(xyz=[[1.0, 2.0, 3.0], [1.0, 2.0]]),
    "lvis short cloud": objaverse_lvis(xyz=LVIS_XYZ[:10], rgb=np.full((10, 3), 0.5)),
    "lvis rgb wrong length": objaverse_lvis(rgb=np.full((10, 3), 0.5)),
    "lvis rgb 4 channels": objaverse_lvis(rgb=np.full((POINTS, 4), 0.5)),
    "lvis rgb strings": objaverse_lvis(rgb=np.full((POINTS, 3), "red")),
    "lvis rgb NaN": objaverse_lvis(rgb=np.full((POINTS, 3), np.nan)),
    "lvis rgb missing": objaverse_lvis(rgb=MISSING),
    "lvis listing empty": objaverse_lvis(listing=[]),
    "lvis listing not entries": objaverse_lvis(listing=[1, 2]),
    "lvis listing a dict": objaverse_lvis(listing={"uid": "x"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_malformed_file_is_one_sentence_naming_it(tmp_path: Path, case: str) -> None:
    load, path = CASES[case](tmp_path / "data")
    with pytest.raises(DataError) as raised:
        load()
    message = str(raised.value)
    assert "\n" not in message and str(path) in message, message


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("ulip short cloud", "Cloud 3 of .* has 10 points where the other clouds have 16"),
        ("ulip label float 1.7", "non-integer label 1.7 "),
        ("h5 label float 1.7", "non-integer label 1.7 "),
        ("h5 data 6 channels", r"\(40, 16, 6\), not N x P x 3"),
        ("h5 label out of range", r"label 40 \(at index 0\), outside 0\.\.39"),
        ("resampled short cloud", "airplane_1000.txt has 3 points where the other clouds have 16"),
        ("openshape rgb wrong length", "rgb"),
    ],
)
def test_the_sentence_says_what_is_wrong(tmp_path: Path, case: str, expected: str) -> None:
    load, _ = CASES[case](tmp_path / "data")
    with pytest.raises(DataError, match=expected):
        load()


def test_what_is_merely_unusual_still_loads_unchanged(tmp_path: Path) -> None:
    """Integer-valued float labels, N-vector labels and plain-int ULIP labels are the classes
    they say; a `points` setting below a short cloud's length keeps the first points of each;
    a file without colour gets OpenShape's constant."""
    load, _ = modelnet40_h5(label=np.arange(40, dtype="f4").reshape(-1, 1))(tmp_path / "a")
    assert load().labels.tolist() == list(range(40))
    load, _ = modelnet40_h5(label=np.arange(40) % 3)(tmp_path / "b")
    assert load().labels.tolist() == (np.arange(40) % 3).tolist()
    load, _ = modelnet40_ulip(labels=list(range(40)))(tmp_path / "c")
    assert load().labels.tolist() == list(range(40))
    root = tmp_path / "d"
    modelnet40_ulip(clouds=SHORT_ULIP)(root)
    data = ModelNet40(ModelNet40Config(root=str(root), points=10)).load("test")
    assert data.points.shape == (40, 10, 3)
    uncoloured = write_modelnet40_openshape(tmp_path / "e", points=POINTS)
    entries = np.load(uncoloured / "test_pc.npy", allow_pickle=True)
    for entry in entries:
        del entry["rgb"]
    np.save(uncoloured / "test_pc.npy", entries, allow_pickle=True)
    data = ModelNet40(ModelNet40Config(root=str(uncoloured), rgb=True)).load("test")
    assert np.allclose(data.points[..., 3:], 0.4)  # no colour in the file: OpenShape's constant


@pytest.mark.parametrize(
    ("case", "dataset"),
    [
        ("ulip short cloud", ["modelnet40"]),
        ("h5 data strings", ["modelnet40"]),
        ("lvis rgb wrong length", ["objaverse_lvis", "--set", "rgb=true"]),
    ],
)
def test_the_command_line_prints_the_sentence_and_exits_1(
    tmp_path: Path, case: str, dataset: list[str]
) -> None:
    root = tmp_path / "data"
    _, path = CASES[case](root)
    command = [sys.executable, "-m", "bench.cli", "datasets", "gallery", *dataset]
    command += ["--out", str(tmp_path / "g.png"), "--set", f"root={root}"]
    env = {**os.environ, "BENCH_HOME": str(tmp_path / "home")}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and str(path) in errors[0], done.stderr
    assert not (tmp_path / "g.png").exists()
