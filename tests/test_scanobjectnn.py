"""ScanObjectNN from small files in the published layouts; OpenShape's train+test union."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from bench.contracts.errors import DataError, UsageError
from bench.datasets.scanobjectnn import CLASS_NAMES, ScanObjectNN, ScanObjectNNConfig
from bench.testing.public_formats import write_scanobjectnn_h5, write_scanobjectnn_openshape


def load(root: Path, split: str = "test", **config: object) -> object:
    return ScanObjectNN(ScanObjectNNConfig(root=str(root), **config)).load(split)  # type: ignore[arg-type]


@pytest.mark.parametrize("variant", ["obj_only", "obj_bg", "pb_t50_rs"])
def test_each_official_variant_loads_with_a_warning_when_its_size_is_not_the_published_one(
    tmp_path: Path, variant: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_scanobjectnn_h5(tmp_path, variant, per_class=2, points=64)
    with caplog.at_level(logging.WARNING):
        data = load(root, variant=variant, points=32)
    assert data.points.shape == (30, 32, 3) and data.class_names == CLASS_NAMES
    assert np.bincount(data.labels).tolist() == [2] * 15
    radius = np.linalg.norm(data.points - data.points.mean(axis=1, keepdims=True), axis=2)
    assert np.allclose(radius.max(axis=1), 1.0, atol=1e-5)
    published = {"obj_only": 581, "obj_bg": 581, "pb_t50_rs": 2882}[variant]
    assert f"holds 30 clouds; the published {variant} test split has {published}" in caplog.text
    assert len(load(root, "train", variant=variant)) == 30
    for other in sorted({"obj_only", "obj_bg", "pb_t50_rs"} - {variant}):  # other files
        with pytest.raises(UsageError, match=f"is missing: the {other} variant is published"):
            load(root, variant=other)


def test_openshape_union_file_is_refused_as_a_test_set_unless_allowed(tmp_path: Path) -> None:
    union = write_scanobjectnn_openshape(tmp_path / "union", count=2890, points=8)
    with pytest.raises(DataError, match="2,309 training plus 581 test clouds, not a test set"):
        load(union, variant="openshape")
    data = load(union, variant="openshape", allow_union=True)
    assert len(data) == 2890
    other = load(write_scanobjectnn_openshape(tmp_path / "small", count=45), variant="openshape")
    assert len(other) == 45 and other.points.shape[1] == 2048
    assert np.allclose(load(tmp_path / "small", variant="openshape", rgb=True).points[..., 3:], 0.4)
    with pytest.raises(UsageError, match="test only"):
        load(tmp_path / "small", "train", variant="openshape")


def test_malformed_or_missing_files_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load(tmp_path / "nowhere")
    root = write_scanobjectnn_h5(tmp_path / "h5", points=16)
    (root / "main_split_nobg" / "test_objectdataset.h5").write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a ScanObjectNN h5 file with 'data' and 'label'"):
        load(root)
    bad = tmp_path / "bad"
    bad.mkdir()
    np.save(bad / "xyz_label.npy", np.zeros((3, 4)))
    with pytest.raises(DataError, match="not a dict with 'xyz' and 'label'"):
        load(bad, variant="openshape")
    with pytest.raises(DataError, match="fewer than the 4096 asked for"):
        load(write_scanobjectnn_h5(tmp_path / "few", points=16), points=4096)
