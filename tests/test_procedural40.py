"""The embedded procedural40 dataset and its scan variant: determinism, layout, sampling, cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.errors import ConfigError, UsageError
from bench.contracts.plugins import DATASETS
from bench.data.gallery import draw_gallery
from bench.data.procedural.primitives import Ellipsoid, box, sample_surfaces, tube
from bench.data.procedural.shapes40 import CLASS_NAMES, sample_shape
from bench.datasets.procedural40 import Procedural40
from bench.datasets.procedural40_scan import Procedural40Scan

SMALL = {"points": 256, "train_per_class": 2, "test_per_class": 2}
VARIANTS = [Procedural40, Procedural40Scan]
REFERENCE_FINGERPRINT = "8f38ad0188d5403326714004ca89a07d040991d4537b26a817bfd1404e0c4184"
POINTS_FINGERPRINT = "891f685be9c57a382a4f40ca91e207ced50cb1d93836fd34981f4245e3a89915"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BENCH_HOME", str(tmp_path))
    return tmp_path


def load(cls: type[Procedural40], split: str = "test", **overrides: object) -> CloudSet:
    return cls(cls.Config(**{**SMALL, **overrides})).load(split)


def test_both_variants_are_registered() -> None:
    assert DATASETS.get("procedural40").cls is Procedural40
    assert DATASETS.get("procedural40_scan").cls is Procedural40Scan


@pytest.mark.parametrize("cls", VARIANTS)
def test_layout_dtypes_and_ids(cls: type[Procedural40]) -> None:
    data = load(cls)
    assert data.points.shape == (80, 256, 3) and data.points.dtype == np.float32
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.labels, np.repeat(np.arange(40), 2))
    assert len(data.class_names) == 40 and data.class_names[15] == "flower pot"
    assert data.class_names[:3] == ("airplane", "bathtub", "bed") and data.class_names[-1] == "xbox"
    assert data.ids[17] == f"{cls.name}/test/chair/0001"
    assert len(set(data.ids)) == len(data.ids)


@pytest.mark.parametrize("cls", VARIANTS)
def test_clouds_fill_the_unit_sphere(cls: type[Procedural40]) -> None:
    points = load(cls).points.astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(points, axis=2).max(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(points.mean(axis=1), 0.0, atol=1e-5)


@pytest.mark.parametrize("cls", VARIANTS)
def test_identical_in_a_fresh_home(
    cls: type[Procedural40], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load(cls)
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "elsewhere"))
    second = load(cls)
    np.testing.assert_array_equal(first.points, second.points)
    assert first.fingerprint == second.fingerprint
    assert list((tmp_path / "elsewhere" / "data").glob("*.npz")), "the second home regenerated"


def test_fingerprint_matches_the_reference() -> None:
    """Any change to the generators must change this value and bump GENERATOR_VERSION."""
    data = load(Procedural40, points=64, test_per_class=1)
    assert data.fingerprint == REFERENCE_FINGERPRINT
    # Version 2 added captions; the clouds themselves are those of version 1.
    assert fingerprint_arrays(data.points, data.labels, data.class_names) == POINTS_FINGERPRINT


def test_captions_describe_each_shape_deterministically() -> None:
    data = load(Procedural40, "train", train_per_class=8)
    assert data.captions is not None and len(data.captions) == len(data)
    stools = [c for c, label in zip(data.captions, data.labels, strict=True) if label == 32]
    assert data.class_names[32] == "stool"
    assert all("rods" in c and "disk" in c for c in stools)  # legs and a round seat
    assert len(set(stools)) > 1  # leg counts and proportions vary within the class
    assert not any(name in c for c in data.captions for name in ("stool", "chair", "table"))
    again = Procedural40(Procedural40.Config(**{**SMALL, "train_per_class": 8}))
    assert again.caption("train", 32, 0) == stools[0]
    cached = load(Procedural40, "train", train_per_class=8)
    assert cached.captions == data.captions  # a tuple whether generated or read from the cache


@pytest.mark.parametrize("cls", VARIANTS)
def test_train_and_test_share_no_cloud(cls: type[Procedural40]) -> None:
    train, test = load(cls, "train"), load(cls, "test")
    assert not {c.tobytes() for c in train.points} & {c.tobytes() for c in test.points}


def test_each_sample_is_reproducible_on_its_own() -> None:
    two, three = load(Procedural40, test_per_class=2), load(Procedural40, test_per_class=3)
    np.testing.assert_array_equal(two.points[1], three.points[1])
    assert not np.array_equal(load(Procedural40, seed=1).points[1], two.points[1])


def test_samples_of_a_class_vary_in_shape() -> None:
    """Every class draws its proportions: bounding boxes of one class's samples differ."""
    for label, name in enumerate(CLASS_NAMES):
        extents = [
            np.ptp(sample_shape(label, np.random.default_rng(i), 512), axis=0) for i in range(4)
        ]
        assert np.ptp(np.array(extents), axis=0).max() > 0.03, name


def test_rotate_up_turns_about_y_only() -> None:
    upright, turned = load(Procedural40), load(Procedural40, rotate_up=True)
    np.testing.assert_allclose(turned.points[..., 1], upright.points[..., 1], atol=1e-6)
    assert not np.allclose(turned.points[..., 0], upright.points[..., 0], atol=1e-2)


def test_scan_differs_from_clean_but_keeps_the_layout() -> None:
    clean, scan = load(Procedural40), load(Procedural40Scan)
    assert scan.points.shape == clean.points.shape
    assert np.abs(scan.points - clean.points).mean() > 0.1
    assert scan.fingerprint != clean.fingerprint


def test_box_faces_receive_points_in_proportion_to_area() -> None:
    points = sample_surfaces([box((0, 0, 0), (4, 1, 1))], 40_000, np.random.default_rng(0))
    on_ends = np.isclose(np.abs(points[:, 0]), 2).mean()
    assert on_ends == pytest.approx(2 / 18, abs=0.01)


def test_cylinder_caps_and_sphere_bands_by_area() -> None:
    rng = np.random.default_rng(1)
    points = sample_surfaces([tube((0, 0, 0), (0, 3, 0), 1.0)], 40_000, rng)
    on_caps = (np.isclose(points[:, 1], 0) | np.isclose(points[:, 1], 3)).mean()
    assert on_caps == pytest.approx(2 / (2 + 6), abs=0.01)
    heights = Ellipsoid((0, 0, 0), (1, 1, 1)).sample(rng, 40_000)[:, 1]
    counts = np.histogram(heights, bins=4, range=(-1, 1))[0] / 40_000
    np.testing.assert_allclose(counts, 0.25, atol=0.01)  # Archimedes: equal heights, equal areas


@pytest.mark.parametrize(
    "cls, bad",
    [
        (Procedural40, {"points": 0}),
        (Procedural40, {"points": 1.5}),
        (Procedural40, {"train_per_class": 0}),
        (Procedural40, {"seed": -1}),
        (Procedural40, {"noise": -0.1}),
        (Procedural40, {"rotate_up": "yes"}),
        (Procedural40Scan, {"floor": 0.5, "clutter": 0.5}),
        (Procedural40Scan, {"elevation_min": 60.0, "elevation_max": 10.0}),
        (Procedural40Scan, {"jitter": -1.0}),
    ],
)
def test_bad_config_values_raise(cls: type[Procedural40], bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        cls.Config(**bad)


def test_unknown_split_raises() -> None:
    with pytest.raises(UsageError, match="train"):
        Procedural40(Procedural40.Config(**SMALL)).load("validation")


def test_second_load_reads_the_cache(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load(Procedural40)
    assert len(list((home / "data").glob("procedural40-test-*.npz"))) == 1

    def fail(*args: object) -> np.ndarray:
        raise AssertionError("regenerated although the cache was valid")

    monkeypatch.setattr(Procedural40, "cloud", fail)
    np.testing.assert_array_equal(load(Procedural40).points, first.points)


def test_corrupt_cache_is_regenerated(home: Path) -> None:
    first = load(Procedural40)
    (cache,) = (home / "data").glob("procedural40-test-*.npz")
    cache.write_bytes(b"not an npz file")
    again = load(Procedural40)
    np.testing.assert_array_equal(again.points, first.points)
    assert cache.read_bytes()[:2] == b"PK"


def test_gallery_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "gallery.png"
    draw_gallery(load(Procedural40, points=64), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000


def test_the_generators_follow_modelnet40s_class_order() -> None:
    from bench.data.classes import MODELNET40
    from bench.data.procedural.shapes40 import GENERATORS

    assert tuple(GENERATORS) == MODELNET40
