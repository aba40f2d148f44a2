"""Malformed clouds and corrupt cached weights: one clear sentence, nothing lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.contracts.clouds import validate_clouds
from bench.contracts.errors import DataError
from bench.running.spec import expand, resolve
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


def test_corrupt_cached_weights_are_set_aside_and_retrained() -> None:
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
        return obtain_encoder(
            cell, torch.device("cpu"), lambda description: lambda done, total: None
        )

    first = obtain()
    cached = obtain()
    assert not cached.trained_now and cached.sha256 == first.sha256
    Path(first.path).write_bytes(b"not a safetensors file")
    again = obtain()
    assert again.trained_now and again.sha256 == first.sha256  # deterministic retraining
    assert first.path.with_suffix(".unreadable").read_bytes() == b"not a safetensors file"
