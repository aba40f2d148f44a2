"""Objaverse-LVIS from small files in OpenShape's and Uni3D's published layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.contracts.errors import DataError, UsageError
from bench.datasets.objaverse_lvis import ObjaverseLvis, ObjaverseLvisConfig
from bench.testing.public_formats import (
    LVIS_SAMPLE,
    write_objaverse_lvis_openshape,
    write_objaverse_lvis_uni3d,
)


def load(root: Path, **config: object) -> object:
    return ObjaverseLvis(ObjaverseLvisConfig(root=str(root), **config)).load("test")  # type: ignore[arg-type]


@pytest.mark.parametrize("writer", [write_objaverse_lvis_openshape, write_objaverse_lvis_uni3d])
def test_both_listings_give_the_same_clouds_with_raw_lvis_names(tmp_path: Path, writer) -> None:  # type: ignore[no-untyped-def]
    data = load(writer(tmp_path, per_class=3, points=40), points=32)
    assert data.class_names == tuple(sorted(LVIS_SAMPLE))  # underscores and case kept
    assert data.points.shape == (15, 32, 3) and np.bincount(data.labels).tolist() == [3] * 5
    radius = np.linalg.norm(data.points - data.points.mean(axis=1, keepdims=True), axis=2)
    assert np.allclose(radius.max(axis=1), 1.0, atol=1e-5)
    assert len(load(tmp_path, per_class=1)) == 5  # the first object of each class
    assert np.allclose(load(tmp_path, rgb=True).points[..., 3:], 0.5)


def test_the_two_layouts_agree_on_the_fingerprint(tmp_path: Path) -> None:
    first = load(write_objaverse_lvis_openshape(tmp_path / "a", points=16))
    second = load(write_objaverse_lvis_uni3d(tmp_path / "b", points=16))
    assert first.fingerprint == second.fingerprint and first.ids == second.ids


def test_missing_and_malformed_files_are_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"No Objaverse-LVIS listing .* split/lvis.json"):
        load(tmp_path / "empty")
    root = write_objaverse_lvis_openshape(tmp_path / "os", per_class=1, points=16)
    listing = json.loads((root / "split" / "lvis.json").read_text())
    (root / listing[0]["data_path"]).unlink()
    with pytest.raises(UsageError, match="listed in .*lvis.json, is missing"):
        load(root)
    (root / "split" / "lvis.json").write_text(json.dumps([{"uid": "x"}]))
    with pytest.raises(DataError, match=r"Entry 0 of .*lvis.json has no 'category'"):
        load(root)
    text = write_objaverse_lvis_uni3d(tmp_path / "u3", per_class=1, points=16)
    (text / "lvis_testset.txt").write_text("0,banana,uid\n")
    with pytest.raises(DataError, match="Line 1 of .* has 3 fields"):
        load(text)
    with pytest.raises(UsageError, match="test split only"):
        ObjaverseLvis(ObjaverseLvisConfig(root=str(text))).load("train")
