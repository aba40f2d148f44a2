"""ShapeNet-55 in ULIP's (and Point-BERT's) pre-training layout: a corpus for `bench train`.

`shapenet-55/` holds `train.txt` and `test.txt`, one `<synset id>-<model id>.npy` per line, the
clouds themselves in `shapenet_pc/` (8,192 x 3 float32 each, as ULIP's `ShapeNet-55.yaml` reads
them), and ShapeNetCore's `taxonomy.json` (a list of `{"synsetId", "name", ...}`), whose names
ULIP turns into the text of each shape. A class here is named by its synset's first name
("airplane" for "airplane,aeroplane,plane"), where ULIP picks one of the names at random for
every sample; the zero-shot check of released ULIP weights uses all of them. ULIP pre-trains on
both splits (`whole: True`); corpus split `train` is the published training list only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.contracts.bounds import KEPT_POINTS, PATH, require
from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.errors import DataError, UsageError
from bench.contracts.plugins import DATASETS, Dataset, PluginInfo
from bench.data.public_files import (
    data_root,
    finished_clouds,
    first_points,
    read_cloud,
    read_text,
    stack_clouds,
)

log = logging.getLogger(__name__)
ENV_VAR = "BENCH_SHAPENET55"
PUBLISHED = (
    "Point-BERT's ShapeNet-55 release (shapenet_pc plus train.txt and test.txt, its DATASET.md)"
    " with ShapeNetCore v2's taxonomy.json"
)
PUBLISHED_SIZES = {"train": 41952, "test": 10518}
SETTING = "shapenet55.points"


@dataclass(frozen=True)
class ShapeNet55Config:
    root: str = ""  # the shapenet-55 directory; empty: $BENCH_SHAPENET55
    points: int = 0  # the first N points of each cloud; 0 keeps all 8,192

    def __post_init__(self) -> None:
        require(self, "shapenet55", {"root": PATH, "points": KEPT_POINTS})


@DATASETS.register("shapenet55")
class ShapeNet55(Dataset[ShapeNet55Config]):
    """ShapeNet-55 (Yu et al., Point-BERT, CVPR 2022; ULIP's pre-training set), from its files."""

    Config = ShapeNet55Config
    version = 1
    runtime_fields = frozenset({"root"})
    info = PluginInfo(
        display="ShapeNet-55",
        description="55 ShapeNetCore categories in ULIP's pre-training layout (a corpus).",
        cite="Yu et al., Point-BERT, CVPR 2022; Chang et al., ShapeNet, arXiv:1512.03012",
    )

    def load(self, split: str) -> CloudSet:
        if split not in PUBLISHED_SIZES:
            raise UsageError(f"ShapeNet-55 has splits train and test, not {split!r}.")
        root = data_root(self.config.root, ENV_VAR, "ShapeNet-55", PUBLISHED)
        listing = root / f"{split}.txt"
        if not listing.is_file():
            raise UsageError(f"{listing} is missing; it is part of {PUBLISHED}.")
        files = [line.strip() for line in read_text(listing).splitlines() if line.strip()]
        if not files:
            raise DataError(f"{listing} lists no clouds.")
        if len(files) != PUBLISHED_SIZES[split]:
            log.warning(
                "%s lists %d clouds; the published list has %d.",
                listing, len(files), PUBLISHED_SIZES[split],
            )  # fmt: skip
        names = _synset_names(root)
        synsets = sorted({name.split("-", 1)[0] for name in files})
        unknown = [s for s in synsets if s not in names]
        if unknown:
            raise DataError(f"{listing} names synsets missing from taxonomy.json: {unknown[:5]}.")
        index = {synset: i for i, synset in enumerate(synsets)}
        # Cut each cloud as it is read: all 41,952 at 8,192 points are 4 GB of float32.
        paths = [root / "shapenet_pc" / name for name in files]
        clouds = [
            first_points(_cloud(path, listing), self.config.points, str(path), SETTING)
            for path in paths
        ]
        xyz = stack_clouds(clouds, [str(path) for path in paths], SETTING)
        points = finished_clouds(xyz, None, False)
        labels = np.asarray([index[name.split("-", 1)[0]] for name in files], dtype=np.int64)
        classes = tuple(names[s] for s in synsets)
        ids = tuple(f"shapenet55/{Path(name).stem}" for name in files)
        return CloudSet(points, labels, classes, ids, fingerprint_arrays(points, labels, classes))


def _synset_names(root: Path) -> dict[str, str]:
    """Synset id -> its first name, from the dataset's taxonomy.json."""
    path = root / "taxonomy.json"
    if not path.is_file():
        raise UsageError(f"{path} is missing; it is ShapeNetCore v2's taxonomy, {PUBLISHED}.")
    try:
        entries = json.loads(read_text(path))
        return {e["synsetId"]: e["name"].split(",")[0].strip() for e in entries}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise DataError(f"{path} is not a list of {{synsetId, name}} entries.") from None


def _cloud(path: Path, listing: Path) -> np.ndarray:
    if not path.is_file():
        raise UsageError(f"{path}, listed in {listing}, is missing.")
    try:
        cloud = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{path} is not a numpy array file ({error}).") from None
    return read_cloud(cloud, str(path))
