"""Damaged public dataset files, as `bench datasets gallery` meets them: one sentence naming the
file, never a traceback.

For each loader a valid dataset is written in its published layout
(`bench.testing.public_formats`), then its main file is damaged the ways a bad download or a
hand-made conversion damages it: text where numbers belong, NaN, a wrong shape, a cut-off end.
`tests/test_malformed_public_files.py` holds the loaders to the exact wording of many more
cases; here every loader meets every kind of damage through the command itself.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from bench.contracts.errors import WeightsError
from bench.testing.cli import one_error
from bench.testing.public_formats import (
    write_modelnet40_h5,
    write_modelnet40_openshape,
    write_modelnet40_resampled,
    write_modelnet40_ulip,
    write_objaverse_lvis_openshape,
    write_objaverse_lvis_uni3d,
    write_openshape_class_embeddings,
    write_scanobjectnn_h5,
    write_scanobjectnn_openshape,
    write_shapenet55_ulip,
)
from bench.text.embeddings import load_precomputed

POINTS = 16
DAMAGE = ("text", "nan", "shape", "truncated")


def _array(damage: str, shape: tuple[int, ...]) -> np.ndarray:
    """What a damaged file holds where `shape` float32 coordinates belong."""
    if damage == "text":
        return np.full(shape, b"0.5")
    values = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    if damage == "nan":
        values.flat[1] = np.nan
        return values
    return values[..., :2]  # a channel short: x and y only


def _cut(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _h5(path: Path, damage: str, key: str = "data") -> None:
    if damage == "truncated":
        return _cut(path)
    with h5py.File(path, "r") as file:
        keys = {name: file[name][()] for name in file}
    keys[key] = _array(damage, keys[key].shape)
    with h5py.File(path, "w") as file:
        for name, value in keys.items():
            file.create_dataset(name, data=value)


def _npy_dict(path: Path, damage: str, key: str = "xyz") -> None:
    if damage == "truncated":
        return _cut(path)
    content = np.load(path, allow_pickle=True).item()
    content[key] = _array(damage, np.shape(content[key]))
    np.save(path, np.array(content, dtype=object), allow_pickle=True)


def modelnet40_h5(root: Path, damage: str) -> tuple[list[str], Path]:
    path = write_modelnet40_h5(root, points=POINTS) / "ply_data_test0.h5"
    _h5(path, damage)
    return ["modelnet40"], path


def modelnet40_ulip(root: Path, damage: str) -> tuple[list[str], Path]:
    path = write_modelnet40_ulip(root, points=POINTS) / "modelnet40_test_8192pts_fps.dat"
    if damage == "truncated":
        _cut(path)
    else:
        with path.open("rb") as file:
            clouds, labels = pickle.load(file)
        clouds[0] = _array(damage, (1, *np.shape(clouds[0])))[0]
        with path.open("wb") as file:
            pickle.dump([clouds, labels], file)
    return ["modelnet40"], path


def modelnet40_openshape(root: Path, damage: str) -> tuple[list[str], Path]:
    path = write_modelnet40_openshape(root, points=POINTS) / "test_pc.npy"
    if damage == "truncated":
        _cut(path)
    else:
        entries = np.load(path, allow_pickle=True)
        entries[0]["xyz"] = _array(damage, (1, POINTS, 3))[0]
        np.save(path, entries, allow_pickle=True)
    return ["modelnet40", "--set", "rgb=true"], path


def modelnet40_resampled(root: Path, damage: str) -> tuple[list[str], Path]:
    path = write_modelnet40_resampled(root, points=POINTS) / "airplane" / "airplane_1000.txt"
    text = {"text": "a,b,c,d,e,f\n", "nan": "nan,0,0,0,1,0\n", "shape": "0.1,0.2\n"}
    if damage == "truncated":
        path.write_text(path.read_text()[:50])  # a row cut mid-number, and too few rows
    else:
        path.write_text(text[damage] * POINTS)
    return ["modelnet40"], path


def scanobjectnn_h5(root: Path, damage: str) -> tuple[list[str], Path]:
    path = write_scanobjectnn_h5(root, points=POINTS) / "main_split_nobg" / "test_objectdataset.h5"
    _h5(path, damage)
    return ["scanobjectnn"], path


def scanobjectnn_openshape(root: Path, damage: str) -> tuple[list[str], Path]:
    path = write_scanobjectnn_openshape(root, count=30, points=POINTS) / "xyz_label.npy"
    _npy_dict(path, damage)
    return ["scanobjectnn", "--set", "variant=openshape"], path


def shapenet55(root: Path, damage: str) -> tuple[list[str], Path]:
    root = write_shapenet55_ulip(root, per_class=1, points=POINTS)
    path = root / "shapenet_pc" / (root / "test.txt").read_text().split()[0]
    if damage == "truncated":
        _cut(path)
    else:
        np.save(path, _array(damage, (POINTS, 3)))
    return ["shapenet55"], path


def _first_lvis_object(root: Path) -> Path:
    listed = json.loads((root / "split" / "lvis.json").read_text())
    return root / listed[0]["data_path"]


def objaverse_lvis(root: Path, damage: str) -> tuple[list[str], Path]:
    path = _first_lvis_object(write_objaverse_lvis_openshape(root, per_class=1, points=POINTS))
    _npy_dict(path, damage)
    return ["objaverse_lvis"], path


def objaverse_lvis_colours(root: Path, damage: str) -> tuple[list[str], Path]:
    path = _first_lvis_object(write_objaverse_lvis_openshape(root, per_class=1, points=POINTS))
    _npy_dict(path, damage, key="rgb")
    return ["objaverse_lvis", "--set", "rgb=true"], path


def objaverse_lvis_listing(root: Path, damage: str) -> tuple[list[str], Path]:
    path = write_objaverse_lvis_openshape(root, per_class=1, points=POINTS) / "split" / "lvis.json"
    listed = json.loads(path.read_text())
    bad: dict[str, Any] = {"text": 12, "nan": float("nan"), "shape": ["a", "b"]}
    if damage == "truncated":
        _cut(path)
    else:
        listed[0]["data_path"] = bad[damage]
        path.write_text(json.dumps(listed))
    return ["objaverse_lvis"], path


def objaverse_lvis_uni3d(root: Path, damage: str) -> tuple[list[str], Path]:
    path = write_objaverse_lvis_uni3d(root, per_class=1, points=POINTS) / "lvis_testset.txt"
    lines = path.read_text().splitlines()
    first = lines[0].split(",")
    broken = {"text": ["zero", *first[1:]], "nan": ["nan", *first[1:]], "shape": first[:2]}
    if damage == "truncated":
        lines[0] = lines[0][:5]
    else:
        lines[0] = ",".join(broken[damage])
    path.write_text("\n".join(lines) + "\n")
    return ["objaverse_lvis"], path


LOADERS: dict[str, Callable[[Path, str], tuple[list[str], Path]]] = {
    loader.__name__: loader
    for loader in (
        modelnet40_h5,
        modelnet40_ulip,
        modelnet40_openshape,
        modelnet40_resampled,
        scanobjectnn_h5,
        scanobjectnn_openshape,
        shapenet55,
        objaverse_lvis,
        objaverse_lvis_colours,
        objaverse_lvis_listing,
        objaverse_lvis_uni3d,
    )
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_a_damaged_file_is_one_sentence_naming_it(tmp_path: Path, loader: str, damage: str) -> None:
    root = tmp_path / "data"
    dataset, path = LOADERS[loader](root, damage)
    out = tmp_path / "g.png"
    args = ["--home", str(tmp_path / "home"), "datasets", "gallery", *dataset]
    line = one_error([*args, "--out", str(out), "--set", f"root={root}"])
    assert str(path) in line, line
    assert not out.exists()


EMBEDDINGS: dict[str, Any] = {
    "text": np.full((1, 8), "0.5"),
    "text list": [["0.1", "0.2"]],
    "nan": np.full((1, 8), np.nan),
    "shape": np.zeros((2, 2, 8), np.float32),
    "ragged": [[1.0], [1.0, 2.0]],
    "a dict": {"x": 1.0},
    "none": None,
}


@pytest.mark.parametrize("damage", sorted(EMBEDDINGS))
def test_damaged_openshape_embeddings_are_one_sentence(tmp_path: Path, damage: str) -> None:
    """OpenShape's `cat_name_pt_feat.npy` with a class whose embedding is not [1, D] numbers:
    refused, naming the file and the class, never cast (text "0.5" is not an embedding)."""
    path = write_openshape_class_embeddings(tmp_path / "feat.npy", ("chair", "lamp"), width=8)
    table = np.load(path, allow_pickle=True).item()
    table["lamp"]["open_clip_text_feat"] = EMBEDDINGS[damage]
    np.save(path, np.array(table, dtype=object), allow_pickle=True)
    with pytest.raises(WeightsError) as raised:
        load_precomputed(path, ["chair", "lamp"])
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and "'lamp'" in message, message


def test_a_truncated_embedding_file_is_one_sentence(tmp_path: Path) -> None:
    path = write_openshape_class_embeddings(tmp_path / "feat.npy", ("chair", "lamp"), width=8)
    _cut(path)
    with pytest.raises(WeightsError) as raised:
        load_precomputed(path, ["chair", "lamp"])
    assert "\n" not in str(raised.value) and str(path) in str(raised.value)
