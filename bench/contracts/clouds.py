"""Validation of point-cloud arrays at the boundary, so malformed input fails with one sentence."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.contracts.errors import DataError


def validate_clouds(points: Any, where: str) -> None:
    """Require a finite, non-empty float array [M, N, 3] or [M, N, 6] (xyz, optional rgb)."""
    array = np.asarray(points)
    if array.ndim != 3 or array.shape[-1] not in (3, 6):
        raise DataError(
            f"{where} has point clouds of shape {tuple(array.shape)}; expected [clouds, points, 3]"
            " (xyz) or [clouds, points, 6] (xyz + rgb)."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise DataError(f"{where} is empty: shape {tuple(array.shape)}.")
    if not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{where} has {array.dtype} coordinates; expected floating point.")
    finite = np.isfinite(array).all(axis=(1, 2))
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise DataError(
            f"{where} has {len(bad)} cloud(s) with NaN or infinite coordinates"
            f" (first at index {bad[0]})."
        )
