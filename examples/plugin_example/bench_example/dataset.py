"""A dataset plugin: spheres, cubes and cylinders with random sizes, sampled on their surfaces.

None of the three names is a ModelNet40 class, so every miniature meets them zero-shot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.contracts.bounds import SEED, Rules, integer, require
from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.errors import UsageError
from bench.contracts.plugins import Dataset, PluginInfo

CLASSES = ("sphere", "cube", "cylinder")


@dataclass(frozen=True)
class SolidsConfig:
    per_class: int = 20
    points: int = 1024
    seed: int = 0

    def __post_init__(self) -> None:
        rules: Rules = {"per_class": integer(1, 1000), "points": integer(1, 100_000), "seed": SEED}
        require(self, "solids", rules)


class Solids(Dataset[SolidsConfig]):
    """Three solids; the train and test splits come from different seeds."""

    Config = SolidsConfig
    version = 1
    info = PluginInfo(display="Solids", description="Spheres, cubes and cylinders (an example)")

    def load(self, split: str) -> CloudSet:
        if split not in ("train", "test"):
            raise UsageError(f"Unknown split '{split}' for solids; use 'train' or 'test'.")
        rng = np.random.default_rng([self.config.seed, split == "test"])
        labels = np.repeat(np.arange(len(CLASSES)), self.config.per_class)
        clouds = np.stack([_surface(CLASSES[c], self.config.points, rng) for c in labels])
        ids = tuple(f"solids/{split}/{i:05d}" for i in range(len(labels)))
        fingerprint = fingerprint_arrays(clouds, labels, CLASSES)
        return CloudSet(clouds.astype(np.float32), labels, CLASSES, ids, fingerprint)


def _surface(name: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """Points on a unit-sized solid, stretched at random, centred and scaled to the unit ball."""
    if name == "sphere":
        points = rng.normal(size=(count, 3))
        points /= np.linalg.norm(points, axis=1, keepdims=True)
    elif name == "cube":
        points = rng.uniform(-1, 1, size=(count, 3))
        face = rng.integers(0, 3, count)
        points[np.arange(count), face] = rng.choice([-1.0, 1.0], count)
    else:
        angle = rng.uniform(0, 2 * np.pi, count)
        points = np.stack([np.cos(angle), rng.uniform(-1, 1, count), np.sin(angle)], axis=1)
    points *= rng.uniform(0.6, 1.4, size=3)
    points -= points.mean(axis=0)
    return points / np.linalg.norm(points, axis=1).max()
