"""What the loaders of published dataset files share: where the files are, and the unit sphere."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bench.contracts.errors import UsageError


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
