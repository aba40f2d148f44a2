"""Malformed clouds and corrupt cached weights: one clear sentence, nothing lost."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from bench.contracts.clouds import validate_clouds
from bench.contracts.cloudset import CloudSet
from bench.contracts.errors import DataError
from bench.plan.spec import expand, resolve
from bench.training.weights import obtain_encoder


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (np.zeros((2, 16), np.float32), r"shape \(2, 16\); expected \[clouds, points, 3\]"),
        (np.zeros((2, 16, 4), np.float32), "expected"),
        (np.zeros((0, 16, 3), np.float32), "is empty"),
        (np.zeros((2, 0, 3), np.float32), "is empty"),
        (np.zeros((2, 16, 3), np.int64), "int64 coordinates"),
        (np.where(np.arange(96).reshape(2, 16, 3) == 50, np.nan, 0.0), r"1 cloud\(s\) with NaN"),
        (np.full((2, 16, 3), np.inf), r"2 cloud\(s\) with NaN or infinite"),
    ],
)
def test_malformed_clouds_are_refused(points: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=message):
        validate_clouds(points, "The input")
    validate_clouds(np.zeros((2, 16, 6), np.float32), "rgb is fine")


def test_encoder_refuses_wrong_channel_count() -> None:
    method = resolve("method", "ulip", "x")[0].instantiate()
    with pytest.raises(DataError, match=r"expected points shaped \[B, N, 3\]"):
        method.build_encoder(8)(torch.zeros(2, 64, 4))


def test_damaged_cached_weights_are_set_aside_and_retrained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tiny = {
        "num_points": 128,
        "num_groups": 8,
        "group_size": 8,
        "depth": 1,
        "epochs": 1,
        "width": 32,
        "heads": 2,
    }
    cell = expand({"methods": [{"name": "ulip", "params": tiny}], "attacks": ["none"]})[0]

    def obtain():  # type: ignore[no-untyped-def]
        return obtain_encoder(cell.training, torch.device("cpu"))

    first = obtain()
    cached = obtain()
    assert not cached.trained_now and cached.sha256 == first.sha256
    # Damage the body, not the header: the file still loads, with wrong weights.
    original = first.path.read_bytes()
    damaged = original[:-4000] + bytes(4000)
    first.path.write_bytes(damaged)
    with caplog.at_level(logging.WARNING):
        again = obtain()
    assert again.trained_now and again.sha256 == first.sha256  # deterministic retraining
    assert first.path.read_bytes() == original
    assert first.path.with_name(first.path.name + ".corrupt").read_bytes() == damaged
    assert "does not match its recorded hash" in caplog.text


def cloudset(**changes: object) -> CloudSet:
    fields: dict[str, object] = {
        "points": np.zeros((3, 8, 3), np.float64),
        "labels": np.array([0, 1, 1], np.int32),
        "class_names": ("chair", "lamp"),
        "ids": ("a", "b", "c"),
        "fingerprint": "f",
    }
    return CloudSet(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_cloudset_takes_float64_and_int32_as_float32_and_int64() -> None:
    data = cloudset()
    assert data.points.dtype == np.float32 and data.labels.dtype == np.int64


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"labels": np.array([0, 2, 1])}, r"1 label\(s\) are outside 0..1 .* the first is 2 at"),
        ({"labels": np.array([0, -1, 1])}, "outside 0..1"),
        ({"ids": ("a", "b", "a")}, "'a' appears more than once"),
        ({"ids": ("a", "b")}, "3 clouds but 2 ids"),
        ({"labels": np.array([0.0, 1.0, 1.0])}, "1-D integer array"),
        ({"captions": ("x",)}, "3 clouds but 1 captions"),
        ({"points": np.zeros((3, 8))}, r"\[clouds, points, channels\]"),
        ({"class_names": ("chair", "chair")}, "class names are not unique"),
    ],
)
def test_a_cloudset_that_would_bias_the_accuracy_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        cloudset(**changes)
