"""What the loaders of published dataset files share: where the files are, how clouds are kept."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bench.contracts.errors import DataError, UsageError

DEFAULT_RGB = 0.4  # OpenShape's colour for clouds that have none


def data_root(given: str, env_var: str, dataset: str, published: str) -> Path:
    """The directory of a dataset's files: the config's `root`, else `env_var`; one sentence
    saying what to set and where the files are published when neither names a directory."""
    chosen = given or os.environ.get(env_var, "")
    if not chosen:
        raise UsageError(
            f"{dataset} is read from files on disk: set its root (--set dataset.root=DIR) or"
            f" {env_var} to the unpacked directory of {published}."
        )
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise UsageError(f"The {dataset} directory {root} does not exist.")
    return root


def unit_sphere(xyz: np.ndarray) -> np.ndarray:
    """Clouds [..., N, 3] centred on their centroid and scaled so the farthest point is at 1."""
    centred = xyz - xyz.mean(axis=-2, keepdims=True)
    radius = np.linalg.norm(centred, axis=-1).max(axis=-1, keepdims=True)
    return centred / np.maximum(radius, 1e-12)[..., None]


def finished_clouds(
    xyz: np.ndarray, rgb: np.ndarray | None, points: int, with_rgb: bool, where: str, setting: str
) -> np.ndarray:
    """float32 [M, P, 3 or 6]: the first `points` points of clouds [M, N, >=3] (all when 0),
    each in the unit sphere, with colour channels when asked: `rgb`, else OpenShape's 0.4.

    `where` names the data in errors, `setting` the config field that sets `points`.
    """
    if xyz.ndim != 3 or xyz.shape[2] < 3:
        raise DataError(f"The clouds in {where} have shape {xyz.shape}, not N x P x 3.")
    count = points or xyz.shape[1]
    if count > xyz.shape[1]:
        raise DataError(
            f"The clouds in {where} have {xyz.shape[1]} points, fewer than the {count} asked for"
            f" ({setting})."
        )
    cloud = xyz[:, :count, :3].astype(np.float64)
    if not np.isfinite(cloud).all():
        raise DataError(f"A cloud in {where} has NaN or infinite coordinates.")
    cloud = unit_sphere(cloud)
    if with_rgb:
        colour = rgb[:, :count] if rgb is not None else np.full_like(cloud, DEFAULT_RGB)
        cloud = np.concatenate([cloud, colour], axis=2)
    return cloud.astype(np.float32)
