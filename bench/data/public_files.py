"""What the loaders of published dataset files share: where the files are, what their arrays
must be, and how clouds are kept.

A published file that is damaged, converted by hand or from another release must fail in one
sentence that names it, never in a traceback and never as data silently reshaped, truncated or
cast. So every array read from such a file passes through the checks here before it is used:
a real, non-empty array of the expected shape with finite coordinates; labels that are class
indices (integers, or floats that are exactly integers, in range, one per cloud); colours
shaped like their points. Decision on float labels: 3.0 is class 3, 1.7 is an error.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.contracts.errors import DataError, UsageError

DEFAULT_RGB = 0.4  # OpenShape's colour for clouds that have none
KINDS = {"b": "booleans", "c": "complex numbers", "U": "text", "S": "text",
         "O": "Python objects", "V": "records", "M": "dates", "m": "time spans",
         "i": "integers", "u": "integers"}  # fmt: skip


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


def read_text(path: Path) -> str:
    """A listing or name file; missing is a UsageError, unreadable a DataError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path} is missing.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path} cannot be read as text ({error}).") from None


def read_h5(path: Path, keys: tuple[str, ...], dataset: str) -> dict[str, Any]:
    """The named datasets of an h5 file, as stored (no dtype conversion, which would cast)."""
    import h5py

    expected = f"{path} is not a {dataset} h5 file with " + " and ".join(f"'{k}'" for k in keys)
    try:
        with h5py.File(path, "r") as file:
            for key in keys:
                if not isinstance(file.get(key), h5py.Dataset):
                    raise DataError(f"{expected}: it has no '{key}' array.")
            return {key: file[key][()] for key in keys}
    except (OSError, ValueError, TypeError) as error:
        raise DataError(f"{expected} ({error}).") from None


def read_clouds(value: Any, where: str, channels: tuple[int, ...] = (3,)) -> np.ndarray:
    """`value` as clouds [M, P, C] of real floats, C one of `channels`, none empty, all finite."""
    array = _numbers(value, where, "floating-point coordinates", "f")
    _shape(array, where, 3, channels, "N x P x ")
    bad = np.flatnonzero(~np.isfinite(array).all(axis=(1, 2)))
    if bad.size:
        raise DataError(f"{where} has NaN or infinite coordinates (first in cloud {bad[0]}).")
    return array


def read_cloud(value: Any, where: str, channels: tuple[int, ...] = (3,)) -> np.ndarray:
    """`value` as one cloud [P, C] of real floats, C one of `channels`, not empty, finite."""
    array = _numbers(value, where, "floating-point coordinates", "f")
    _shape(array, where, 2, channels, "N x ")
    _finite(array, where, "coordinates")
    return array


def read_colours(value: Any, where: str, shape: tuple[int, ...]) -> np.ndarray:
    """`value` as colours of the points they belong to: real numbers of `shape`, finite."""
    array = _numbers(value, where, "colour values", "fiu")
    if array.shape != shape:
        raise DataError(f"{where} has shape {array.shape}, not {shape} like the points it colours.")
    _finite(array, where, "colour values")
    return array.astype(np.float64)


def read_labels(value: Any, where: str, count: int, classes: int) -> np.ndarray:
    """`value` as int64 [count]: class indices 0..classes-1, stored as N or N x 1 integers, or
    as floats that are exactly integers (1.0 is class 1; 1.7 is refused, never rounded)."""
    array = _numbers(value, where, "integer class indices", "fiu")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"{where} has shape {array.shape}; labels are N or N x 1 class indices.")
    if len(array) != count:
        raise DataError(f"{where} holds {len(array)} labels for {count} clouds.")
    if array.dtype.kind == "f":
        fractional = np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))
        if fractional.size:
            first = fractional[0]
            raise DataError(
                f"{where} holds the non-integer label {array[first]:g} (at index {first});"
                " labels are class indices, so the file is damaged or not this dataset's."
            )
    outside = np.flatnonzero((array < 0) | (array >= classes))
    if outside.size:
        first = outside[0]
        raise DataError(
            f"{where} holds the label {array[first]:g} (at index {first}), outside 0..{classes - 1}"
            f" (the {classes} classes)."
        )
    return array.astype(np.int64)


def first_points(clouds: np.ndarray, points: int, where: str, setting: str) -> np.ndarray:
    """The first `points` points (all when 0) of a cloud [P, C] or clouds [M, P, C]; a cloud
    shorter than asked for is refused, never padded."""
    have = clouds.shape[-2]
    if points > have:
        raise DataError(
            f"{where} has {have} points, fewer than the {points} asked for ({setting}); set it"
            f" to {have} or fewer."
        )
    if not points or points == have:
        return clouds
    return clouds[..., :points, :].copy()  # a copy, so that the rest of a large cloud is freed


def stack_clouds(clouds: Sequence[np.ndarray], sources: Sequence[str], setting: str) -> np.ndarray:
    """Clouds [P, C] of one set as [M, P, C]. Published sets have equally long clouds: one of
    another length than most is refused, not cut to the shortest (which would change them all)."""
    lengths = [len(cloud) for cloud in clouds]
    usual = Counter(lengths).most_common(1)[0][0]
    for length, source in zip(lengths, sources, strict=True):
        if length != usual:
            raise DataError(
                f"{source} has {length} points where the other clouds have {usual}; the clouds of"
                f" a set must be equally long, unless {setting} asks for at most"
                f" {min(length, usual)} points of each."
            )
    return np.stack(clouds)


def unit_sphere(xyz: np.ndarray) -> np.ndarray:
    """Clouds [..., N, 3] centred on their centroid and scaled so the farthest point is at 1."""
    centred = xyz - xyz.mean(axis=-2, keepdims=True)
    radius = np.linalg.norm(centred, axis=-1).max(axis=-1, keepdims=True)
    return centred / np.maximum(radius, 1e-12)[..., None]


def finished_clouds(xyz: np.ndarray, rgb: np.ndarray | None, with_rgb: bool) -> np.ndarray:
    """float32 [M, P, 3 or 6]: checked clouds [M, P, 3] in the unit sphere, with colour
    channels when asked: `rgb` ([M, P, 3]), else OpenShape's 0.4."""
    cloud = unit_sphere(xyz.astype(np.float64))
    if with_rgb:
        colour = rgb if rgb is not None else np.full_like(cloud, DEFAULT_RGB)
        cloud = np.concatenate([cloud, colour], axis=2)
    return cloud.astype(np.float32)


def _numbers(value: Any, where: str, wanted: str, kinds: str) -> np.ndarray:
    """`value` as an array whose dtype kind is one of `kinds`, or one sentence saying what it is."""
    if isinstance(value, list | tuple):
        try:
            value = np.asarray(value)
        except ValueError:
            raise DataError(f"{where} is ragged: its rows differ in length.") from None
    elif isinstance(value, int | float | np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise DataError(f"{where} is a {type(value).__name__}, not an array of {wanted}.")
    if value.dtype.kind not in kinds:
        kind = KINDS.get(value.dtype.kind, str(value.dtype))
        raise DataError(f"{where} holds {kind} ({value.dtype}), not {wanted}.")
    return value


def _shape(array: np.ndarray, where: str, ndim: int, channels: tuple[int, ...], axes: str) -> None:
    expected = axes + " or ".join(map(str, channels))
    if array.ndim != ndim:
        raise DataError(f"{where} has shape {array.shape}, not {expected}.")
    if 0 in array.shape:
        raise DataError(f"{where} is empty: its shape is {array.shape}.")
    if array.shape[-1] not in channels:
        raise DataError(f"{where} has shape {array.shape}, not {expected}.")


def _finite(array: np.ndarray, where: str, what: str) -> None:
    bad = np.flatnonzero(~np.isfinite(array).all(axis=-1))
    if bad.size:
        raise DataError(f"{where} has NaN or infinite {what} (first at point {bad[0]}).")
