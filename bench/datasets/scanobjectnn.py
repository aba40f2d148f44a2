"""ScanObjectNN from the files as published: the official h5 variants and OpenShape's copy.

- `obj_only`, `obj_bg`, `pb_t50_rs`: the official release (Uy et al., ICCV 2019), h5 files with
  `data` (N x 2048 x 3) and `label` (N): `main_split_nobg/{training,test}_objectdataset.h5`,
  `main_split/{training,test}_objectdataset.h5` and
  `main_split/{training,test}_objectdataset_augmentedrot_scale75.h5` (the hardest variant,
  also called "PB_T50_RS"). Test splits: 581, 581 and 2,882 clouds.
- `openshape`: OpenShape's `xyz_label.npy` (a dict with `xyz`, `label` and maybe `rgb`), read
  without running pickle code. The released file holds 2,890 clouds, which is OBJ_ONLY's
  2,309 training plus 581 test clouds, not a test set: a loader that reported it as one would
  inflate or deflate every number (a published correction came from this very mistake). It
  is refused with that explanation unless `allow_union` is set, and then the cell's label
  says so.

Clouds are centred in the unit sphere; `points` keeps the first N (all by default); `rgb` adds
OpenShape's constant 0.4 where the file has no colour. A split whose size differs from the
published one is loaded with a warning. The 15 class names are the published order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.contracts.bounds import FLAG, KEPT_POINTS, PATH, one_of, require
from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.errors import DataError, UsageError, shown
from bench.contracts.plugins import DATASETS, Dataset, PluginInfo
from bench.data.public_files import (
    data_root,
    finished_clouds,
    first_points,
    read_clouds,
    read_colours,
    read_h5,
    read_labels,
)
from bench.storage.restricted_pickle import load_npy

log = logging.getLogger(__name__)

ENV_VAR = "BENCH_SCANOBJECTNN"
CLASS_NAMES = ("bag", "bin", "box", "cabinet", "chair", "desk", "display", "door", "shelf",
               "table", "bed", "pillow", "sink", "sofa", "toilet")  # fmt: skip
FILES = {  # variant -> (directory, file stem suffix)
    "obj_only": ("main_split_nobg", ""),
    "obj_bg": ("main_split", ""),
    "pb_t50_rs": ("main_split", "_augmentedrot_scale75"),
}
PUBLISHED_SIZES = {
    ("obj_only", "train"): 2309, ("obj_only", "test"): 581,
    ("obj_bg", "train"): 2309, ("obj_bg", "test"): 581,
    ("pb_t50_rs", "train"): 11416, ("pb_t50_rs", "test"): 2882,
}  # fmt: skip
OPENSHAPE_UNION = 2309 + 581  # OBJ_ONLY train + test
VARIANTS = (*FILES, "openshape")
SETTING = "scanobjectnn.points"
PUBLISHED = (
    "the ScanObjectNN release (h5_files.zip, by request from its authors), or OpenShape's"
    " meta_data (scanobjectnn/xyz_label.npy)"
)


@dataclass(frozen=True)
class ScanObjectNNConfig:
    root: str = ""  # the unpacked directory (holding main_split/ ...); empty: $BENCH_SCANOBJECTNN
    variant: str = "obj_only"
    points: int = 0  # the first N points of each cloud; 0 keeps all
    rgb: bool = False
    allow_union: bool = False  # accept OpenShape's 2,890-cloud train+test file as the test set

    def __post_init__(self) -> None:
        require(
            self,
            "scanobjectnn",
            {
                "root": PATH,
                "variant": one_of(*VARIANTS),
                "points": KEPT_POINTS,
                "rgb": FLAG,
                "allow_union": FLAG,
            },
        )


@DATASETS.register("scanobjectnn")
class ScanObjectNN(Dataset[ScanObjectNNConfig]):
    """ScanObjectNN (Uy et al., ICCV 2019): real scans of 15 object classes, read from files.

    The directory is where the data is, not what it is: it is left out of cell identities,
    whose data fingerprint covers the clouds themselves.
    """

    Config = ScanObjectNNConfig
    version = 1
    runtime_fields = frozenset({"root"})
    info = PluginInfo(
        display="ScanObjectNN",
        description="Real object scans, 15 classes, from the official h5 files or OpenShape's.",
        cite="Uy et al., Revisiting Point Cloud Classification: A New Benchmark Dataset and"
        " Classification Model on Real-World Data, ICCV 2019",
    )

    def load(self, split: str) -> CloudSet:
        if split not in ("train", "test"):
            raise UsageError(
                f"Unknown split {shown(split)} for scanobjectnn; use 'train' or 'test'."
            )
        root = self.root()
        variant = self.config.variant
        if variant == "openshape":
            if split != "test":
                raise UsageError("OpenShape's ScanObjectNN file is evaluation data: test only.")
            xyz, labels, colours = self._read_openshape(root / "xyz_label.npy")
            stem = "openshape"
        else:
            directory, suffix = FILES[variant]
            prefix = "training" if split == "train" else "test"
            path = root / directory / f"{prefix}_objectdataset{suffix}.h5"
            xyz, labels = _read_h5(path, variant, self.config.points)
            colours, stem = None, path.stem
            published = PUBLISHED_SIZES[variant, split]
            if len(labels) != published:
                log.warning(
                    "%s holds %d clouds; the published %s %s split has %d.",
                    path,
                    len(labels),
                    variant,
                    split,
                    published,
                )
        points = finished_clouds(xyz, colours, self.config.rgb)
        ids = tuple(f"scanobjectnn/{variant}/{split}/{stem}/{i:05d}" for i in range(len(labels)))
        fingerprint = fingerprint_arrays(points, labels, CLASS_NAMES)
        return CloudSet(points, labels, CLASS_NAMES, ids, fingerprint)

    def root(self) -> Path:
        return data_root(self.config.root, ENV_VAR, "ScanObjectNN", PUBLISHED)

    def _read_openshape(self, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if not path.is_file():
            raise UsageError(f"{path} is missing: it is published in {PUBLISHED}.")
        stored = load_npy(path)
        content = stored.item() if stored.shape == () else None
        if not isinstance(content, dict) or "xyz" not in content or "label" not in content:
            raise DataError(f"{path} is not a dict with 'xyz' and 'label', as OpenShape's is.")
        xyz = read_clouds(content["xyz"], f"'xyz' in {path}")
        labels = read_labels(content["label"], f"'label' in {path}", len(xyz), len(CLASS_NAMES))
        if len(xyz) == OPENSHAPE_UNION and not self.config.allow_union:
            raise DataError(
                f"{path} holds {OPENSHAPE_UNION:,} clouds: OBJ_ONLY's 2,309 training plus 581 test"
                " clouds, not a test set, so numbers on it are not test accuracy. Use the official"
                " h5 test file (variant obj_only), or set scanobjectnn.allow_union=true to"
                " evaluate on the union anyway (the label says so)."
            )
        kept = first_points(xyz, self.config.points, f"Each cloud in {path}", SETTING)
        if not self.config.rgb or content.get("rgb") is None:
            return kept, labels, None
        rgb = read_colours(content["rgb"], f"'rgb' in {path}", xyz.shape)
        return kept, labels, first_points(rgb, self.config.points, f"'rgb' in {path}", SETTING)


def _read_h5(path: Path, variant: str, points: int) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise UsageError(f"{path} is missing: the {variant} variant is published in {PUBLISHED}.")
    stored = read_h5(path, ("data", "label"), "ScanObjectNN")
    xyz = read_clouds(stored["data"], f"'data' in {path}")
    labels = read_labels(stored["label"], f"'label' in {path}", len(xyz), len(CLASS_NAMES))
    return first_points(xyz, points, f"Each cloud in {path}", SETTING), labels
