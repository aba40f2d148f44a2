"""procedural40: an embedded, ModelNet40-like dataset generated from code, needing no download.

Every cloud comes from its own seed (base seed, split, class, index), so a sample is reproducible
on its own and the train and test splits never share a seed. Generated splits are cached as
`.npz` files under the home's `data/` directory, keyed by everything that determines them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from bench.contracts.bounds import FLAG, SEED, integer, number, require
from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.errors import UsageError, shown
from bench.contracts.plugins import DATASETS, Dataset, PluginInfo
from bench.contracts.runtime import progress
from bench.data.classes import MODELNET40 as CLASS_NAMES
from bench.storage.home import subdir
from bench.storage.verified import read_verified, write_verified

log = logging.getLogger(__name__)

GENERATOR_VERSION = 2  # bump whenever a shape, sampler, corruption or caption changes
CAPTION_POINTS = 256  # points sampled to measure a shape's proportions for its caption
SPLITS = {"train": 0, "test": 1}
SHAPE, TURN, NOISE, SCAN = range(4)  # independent random streams of one sample
CLOUD_POINTS = integer(1, 65_536)  # 2,400 generated clouds of this many points fit in memory
PER_CLASS = integer(1, 10_000)


@dataclass(frozen=True)
class Procedural40Config:
    plugin: ClassVar[str] = "procedural40"  # the name its errors give
    points: int = 1024
    train_per_class: int = 60
    test_per_class: int = 50  # 50 per class: a useful interval on the 10 unseen classes
    seed: int = 0
    noise: float = 0.0  # std of gaussian surface jitter, in unit-sphere units
    rotate_up: bool = False  # random rotation about the y (up) axis; ModelNet40 is aligned

    def __post_init__(self) -> None:
        require(
            self,
            self.plugin,
            {
                "points": CLOUD_POINTS,
                "train_per_class": PER_CLASS,
                "test_per_class": PER_CLASS,
                "seed": SEED,
                "noise": number(0, 0.2),
                "rotate_up": FLAG,
            },
        )


@DATASETS.register("procedural40")
class Procedural40(Dataset[Procedural40Config]):
    """Forty ModelNet40 categories as parametric shapes sampled by area, y-up, in the unit sphere.

    It lets every test, example and miniature benchmark run offline in seconds, with the class
    names of the real benchmark so that zero-shot text prompts carry over unchanged.
    """

    Config = Procedural40Config
    version = GENERATOR_VERSION
    info = PluginInfo(
        display="procedural40",
        description="ModelNet40-like shapes generated from code: 40 classes, aligned, clean.",
    )
    name: ClassVar[str] = "procedural40"

    def load(self, split: str) -> CloudSet:
        if split not in SPLITS:
            raise UsageError(
                f"Unknown split {shown(split)} for {self.name}; use 'train' or 'test'."
            )
        per_class = self.config.train_per_class if split == "train" else self.config.test_per_class
        labels = np.repeat(np.arange(len(CLASS_NAMES), dtype=np.int64), per_class)
        ids = tuple(
            f"{self.name}/{split}/{CLASS_NAMES[c]}/{i % per_class:04d}"
            for i, c in enumerate(labels)
        )
        key = self.cache_key(split)
        path = subdir("data") / f"{self.name}-{split}-{key[:16]}.npz"
        cached = read_cache(path, key, (len(labels), self.config.points, 3))
        if cached is None:
            samples = [(split, int(c), i % per_class) for i, c in enumerate(labels)]
            report = progress(f"generate {self.name} {split}")
            clouds: list[np.ndarray] = []
            texts: list[str] = []
            for done, sample in enumerate(samples, start=1):
                clouds.append(self.cloud(*sample))
                texts.append(self.caption(*sample))
                report(done, len(samples))
            points, captions = np.stack(clouds).astype(np.float32), tuple(texts)
            write_cache(path, key, points, captions)
        else:
            points, captions = cached
        fingerprint = fingerprint_arrays(points, labels, CLASS_NAMES, captions)
        return CloudSet(points, labels, CLASS_NAMES, ids, fingerprint, captions=captions)

    def cache_key(self, split: str) -> str:
        """A hash of everything that determines a split's arrays."""
        key = {
            "name": self.name,
            "version": self.version,
            "config": dataclasses.asdict(self.config),
            "split": split,
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()

    def rng(self, split: str, label: int, index: int, stream: int) -> np.random.Generator:
        """The random stream `stream` of one sample, independent of every other sample."""
        key = (SPLITS[split], label, index, stream)
        return np.random.default_rng(np.random.SeedSequence(self.config.seed, spawn_key=key))

    def clean(self, split: str, label: int, index: int, points: int) -> np.ndarray:
        """One clean, normalised float64 cloud of `points` points."""
        from bench.data.procedural.primitives import normalize, rotation
        from bench.data.procedural.shapes40 import sample_shape

        cloud = sample_shape(label, self.rng(split, label, index, SHAPE), points)
        if self.config.rotate_up:
            angle = self.rng(split, label, index, TURN).uniform(0, 2 * np.pi)
            cloud = cloud @ rotation("y", angle).T
        if self.config.noise:
            cloud = normalize(
                cloud
                + self.rng(split, label, index, NOISE).normal(0, self.config.noise, cloud.shape)
            )
        return cloud

    def cloud(self, split: str, label: int, index: int) -> np.ndarray:
        """The stored cloud of one sample; the scan variant degrades the clean one here."""
        return self.clean(split, label, index, self.config.points)

    def caption(self, split: str, label: int, index: int) -> str:
        """The caption of one sample's shape, from the same parameters as its cloud."""
        from bench.data.procedural.captions import caption
        from bench.data.procedural.primitives import rotation, sample_surfaces
        from bench.data.procedural.shapes40 import GENERATORS

        rng = self.rng(split, label, index, SHAPE)
        parts = GENERATORS[CLASS_NAMES[label]](rng)
        points = sample_surfaces(parts, CAPTION_POINTS, rng)
        if self.config.rotate_up:
            angle = self.rng(split, label, index, TURN).uniform(0, 2 * np.pi)
            points = points @ rotation("y", angle).T
        return caption(parts, points)


def read_cache(
    path: Path, key: str, shape: tuple[int, ...]
) -> tuple[np.ndarray, tuple[str, ...]] | None:
    """The cached points and captions, or None when missing, unreadable or of the wrong shape."""
    cached = read_verified(path, "dataset", key)
    if cached is None:
        return None
    try:
        with np.load(io.BytesIO(cached.data), allow_pickle=False) as data:
            points, captions = data["points"], data["captions"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        log.warning("Regenerating the unreadable dataset cache %s (%s).", path, error)
        return None
    if points.shape != shape or points.dtype != np.float32 or captions.shape != shape[:1]:
        log.warning(
            "Regenerating the dataset cache %s: it holds %s %s.", path, points.dtype, points.shape
        )
        return None
    return points, tuple(str(c) for c in captions)


def write_cache(path: Path, key: str, points: np.ndarray, captions: tuple[str, ...]) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, points=points, captions=np.array(captions, dtype=str))
    write_verified(path, buffer.getvalue(), key)
