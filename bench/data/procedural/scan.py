"""Turn a clean, complete cloud into a scan-like one, as ScanObjectNN's objects are to ModelNet40's.

A real scan sees an object from one side, loses parts behind other objects, is noisy and
includes some floor and clutter. Each effect here is a plain numpy step driven by one generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.data.procedural.primitives import boxes, normalize, rotation, sample_surfaces


@dataclass(frozen=True)
class ScanSettings:
    """How strong each scan effect is, as set in the procedural40_scan config."""

    elevation: tuple[float, float]  # camera elevation range above the horizon, degrees
    view_cell: float  # z-buffer cell size in unit-sphere units: larger hides more
    occlusion_prob: float  # chance that an occluder hides part of the object
    occlusion_max: float  # largest fraction of the visible object an occluder hides
    jitter: float  # std of gaussian noise on every point
    floor: float  # fraction of the output points on the floor patch
    clutter: float  # fraction of the output points on clutter fragments


def camera_frame(rng: np.random.Generator, elevation: tuple[float, float]) -> np.ndarray:
    """Rows: image right, image up, and the unit direction from the object towards the camera."""
    azimuth = rng.uniform(0, 2 * np.pi)
    lift = np.radians(rng.uniform(*elevation))
    towards = np.array(
        [np.cos(lift) * np.cos(azimuth), np.sin(lift), np.cos(lift) * np.sin(azimuth)]
    )
    right = np.cross([0.0, 1.0, 0.0], towards)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(towards, right), towards])


def visible(points: np.ndarray, frame: np.ndarray, cell: float) -> np.ndarray:
    """A z-buffer: keep points within one cell of the nearest point along their pixel's ray."""
    image = points @ frame.T
    pixels = np.floor(image[:, :2] / cell).astype(np.int64)
    pixels -= pixels.min(axis=0)
    _, pixel = np.unique(
        pixels[:, 0] * (pixels[:, 1].max() + 1) + pixels[:, 1], return_inverse=True
    )
    nearest = np.full(pixel.max() + 1, -np.inf)
    np.maximum.at(nearest, pixel, image[:, 2])
    return image[:, 2] >= nearest[pixel] - cell


def background(
    rng: np.random.Generator, cloud: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """A floor patch under the object and one to three box fragments standing beside it."""
    low, high = cloud.min(axis=0), cloud.max(axis=0)
    margin = rng.uniform(0.1, 0.4, size=2)
    floor = np.column_stack(
        [
            rng.uniform(low[0] - margin[0], high[0] + margin[0], count),
            np.full(count, low[1]),
            rng.uniform(low[2] - margin[1], high[2] + margin[1], count),
        ]
    )
    pieces = int(rng.integers(1, 4))
    sizes = rng.uniform(0.1, 0.4, size=(pieces, 3))
    angles = rng.uniform(0, 2 * np.pi, pieces)
    reach = float(np.linalg.norm(high - low)) * 0.5 + sizes.max(axis=1) * 0.5
    centers = np.column_stack(
        [reach * np.cos(angles), low[1] + sizes[:, 1] / 2, reach * np.sin(angles)]
    )
    clutter = sample_surfaces(
        [boxes(centers, sizes, rotation("y", rng.uniform(0, np.pi)))], count, rng
    )
    return floor, clutter


def pick(rng: np.random.Generator, pool: np.ndarray, count: int) -> np.ndarray:
    """`count` points from `pool`, repeating points only when the pool is too small."""
    return pool[rng.choice(len(pool), count, replace=len(pool) < count)]


def simulate_scan(
    cloud: np.ndarray, rng: np.random.Generator, points: int, settings: ScanSettings
) -> np.ndarray:
    """A partial, occluded, noisy view of a dense clean `cloud` with background, renormalised."""
    floor, clutter = background(rng, cloud, len(cloud))
    scene = np.concatenate([cloud, floor, clutter])
    kind = np.repeat([0, 1, 2], [len(cloud), len(floor), len(clutter)])
    frame = camera_frame(rng, settings.elevation)
    keep = visible(scene, frame, settings.view_cell)
    if rng.random() < settings.occlusion_prob:
        angle = rng.uniform(0, 2 * np.pi)
        side = scene @ (frame[0] * np.cos(angle) + frame[1] * np.sin(angle))
        cut = np.quantile(side[keep & (kind == 0)], rng.uniform(0.05, settings.occlusion_max))
        keep &= side >= cut
    pools = [scene[keep & (kind == k)] for k in range(3)]
    shares = [settings.floor if len(pools[1]) else 0.0, settings.clutter if len(pools[2]) else 0.0]
    counts = [round(share * points) for share in shares]
    counts = [points - sum(counts), *counts]
    result = np.concatenate([pick(rng, pool, n) for pool, n in zip(pools, counts, strict=True)])
    result = result + rng.normal(0, settings.jitter, result.shape)
    return normalize(result[rng.permutation(points)])
