"""Objaverse-LVIS (the 1,156-category zero-shot benchmark of OpenShape) from its public files.

Two published listings of the same 46,832 objects, each naming one `.npy` per object (a
pickled dict with `xyz` (10,000 x 3) and `rgb` (10,000 x 3, in [0, 1]) among other fields,
read without running pickle code):

- `openshape`: OpenShape's `meta_data/split/lvis.json`, a list of `{uid, category, group,
  data_path}`, `data_path` relative to the directory of the processed objects;
- `uni3d`: Uni3D's `lvis_testset.txt`, lines `cate_id,cate_name,model_id,relative npy path`.

`root` is the directory the listed paths are relative to; the listing is looked for there (or
given as `listing`). Class names are the sorted raw LVIS names, underscores kept ("aerosol_can"),
as OpenShape and Uni3D pass them to CLIP. All objects are one test split; `per_class` keeps the
first N objects of each class (0: all), since the whole set is 11 GB in memory with colour.
Clouds keep their first `points` points (all by default) and are centred in the unit sphere.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.contracts.bounds import FLAG, KEPT_POINTS, PATH, Rules, integer, require
from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.errors import DataError, UsageError, shown
from bench.contracts.plugins import DATASETS, Dataset, PluginInfo
from bench.data.public_files import (
    data_root,
    finished_clouds,
    first_points,
    read_cloud,
    read_colours,
    read_text,
    stack_clouds,
)
from bench.storage.restricted_pickle import load_npy

log = logging.getLogger(__name__)

ENV_VAR = "BENCH_OBJAVERSE_LVIS"
LISTINGS = {"openshape": ("lvis.json", "split/lvis.json"), "uni3d": ("lvis_testset.txt",)}
PUBLISHED_SIZE = 46832
SETTING = "objaverse_lvis.points"
PUBLISHED = (
    "OpenShape's training data (meta_data.zip for split/lvis.json, the Objaverse tarballs for"
    " the objects) or Uni3D's data/test_datasets.zip (objaverse_lvis/)"
)


@dataclass(frozen=True)
class ObjaverseLvisConfig:
    root: str = ""  # where the listed .npy paths start; empty: $BENCH_OBJAVERSE_LVIS
    listing: str = ""  # the listing file, if not in root
    per_class: int = 0  # the first N objects of each class; 0 keeps all
    points: int = 0  # the first N points of each cloud; 0 keeps all
    rgb: bool = False

    def __post_init__(self) -> None:
        rules: Rules = {
            "root": PATH,
            "listing": PATH,
            "per_class": integer(0, 1_000_000),
            "points": KEPT_POINTS,
            "rgb": FLAG,
        }
        require(self, "objaverse_lvis", rules)


@DATASETS.register("objaverse_lvis")
class ObjaverseLvis(Dataset[ObjaverseLvisConfig]):
    """Objaverse-LVIS (Deitke et al., Objaverse, CVPR 2023; split of Liu et al., OpenShape,
    NeurIPS 2023), read from OpenShape's or Uni3D's files.

    Directories are where the data is, not what it is: they are left out of cell identities,
    whose data fingerprint covers the clouds themselves.
    """

    Config = ObjaverseLvisConfig
    version = 1
    runtime_fields = frozenset({"root", "listing"})
    info = PluginInfo(
        display="Objaverse-LVIS",
        description="1,156 LVIS categories of Objaverse objects, from OpenShape or Uni3D files.",
        cite="Liu et al., OpenShape: Scaling Up 3D Shape Representation Towards Open-World"
        " Understanding, NeurIPS 2023",
    )

    def load(self, split: str) -> CloudSet:
        if split != "test":
            raise UsageError("Objaverse-LVIS is an evaluation set: it has a test split only.")
        root = self.root()
        listing = self.listing(root)
        entries = _read_listing(listing)
        if not entries:
            raise DataError(f"{listing} lists no objects.")
        if len(entries) != PUBLISHED_SIZE:
            log.warning(
                "%s lists %d objects; the published listing has %d.",
                listing, len(entries), PUBLISHED_SIZE,
            )  # fmt: skip
        names = tuple(sorted({category for category, _, _ in entries}))
        if self.config.per_class:
            kept: dict[str, int] = defaultdict(int)
            chosen = []
            for entry in entries:
                if kept[entry[0]] < self.config.per_class:
                    kept[entry[0]] += 1
                    chosen.append(entry)
            entries = chosen
        index = {name: i for i, name in enumerate(names)}
        paths = [root / relative for _, _, relative in entries]
        read = [self._cloud(path, listing) for path in paths]
        sources = [f"'xyz' in {path}" for path in paths]
        xyz = stack_clouds([cloud for cloud, _ in read], sources, SETTING)
        # With rgb asked for, `_cloud` returns every cloud's colours (or raises).
        colours = np.stack([rgb for _, rgb in read if rgb is not None]) if self.config.rgb else None
        points = finished_clouds(xyz, colours, self.config.rgb)
        labels = np.asarray([index[category] for category, _, _ in entries], dtype=np.int64)
        ids = tuple(f"objaverse_lvis/{uid}" for _, uid, _ in entries)
        return CloudSet(points, labels, names, ids, fingerprint_arrays(points, labels, names))

    def root(self) -> Path:
        return data_root(self.config.root, ENV_VAR, "Objaverse-LVIS", PUBLISHED)

    def listing(self, root: Path) -> Path:
        if self.config.listing:
            path = Path(self.config.listing).expanduser()
            if not path.is_file():
                raise UsageError(f"The Objaverse-LVIS listing {path} does not exist.")
            return path
        candidates = [root / name for names in LISTINGS.values() for name in names]
        for path in candidates:
            if path.is_file():
                return path
        raise UsageError(
            f"No Objaverse-LVIS listing in {root} (looked for"
            f" {', '.join(str(c.relative_to(root)) for c in candidates)}); it is published in"
            f" {PUBLISHED}, or give objaverse_lvis.listing."
        )

    def _cloud(self, path: Path, listing: Path) -> tuple[np.ndarray, np.ndarray | None]:
        """One object's first `points` xyz, and its colours when asked for."""
        if not path.is_file():
            raise UsageError(f"{path}, listed in {listing}, is missing.")
        stored = load_npy(path)
        content = stored.item() if stored.shape == () else None
        if not isinstance(content, dict) or "xyz" not in content:
            raise DataError(f"{path} is not a dict with 'xyz', as the published objects are.")
        xyz = read_cloud(content["xyz"], f"'xyz' in {path}")
        kept = first_points(xyz, self.config.points, f"'xyz' in {path}", SETTING)
        if not self.config.rgb:
            return kept, None
        if content.get("rgb") is None:
            raise DataError(f"{path} has no 'rgb', and objaverse_lvis.rgb asks for colour.")
        rgb = read_colours(content["rgb"], f"'rgb' in {path}", xyz.shape)
        return kept, first_points(rgb, self.config.points, f"'rgb' in {path}", SETTING)


def _read_listing(path: Path) -> list[tuple[str, str, Path]]:
    """(category, object id, relative .npy path) per listed object, in listing order."""
    text = read_text(path)
    if path.suffix == ".json":
        try:
            listed = json.loads(text)
        except ValueError as error:
            raise DataError(f"{path} is not valid JSON ({error}).") from None
        if not isinstance(listed, list):
            raise DataError(f"{path} is not a list of {{uid, category, data_path}}.")
        return [_json_entry(entry, index, path) for index, entry in enumerate(listed)]
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.strip().split(",")
        if len(fields) != 4:
            raise DataError(
                f"Line {number} of {path} has {len(fields)} fields; expected cate_id,cate_name,"
                "model_id,path."
            )
        if not fields[0].strip().isdigit():
            raise DataError(
                f"Line {number} of {path} has {shown(fields[0])} as its cate_id, not a whole"
                " number; expected cate_id,cate_name,model_id,path."
            )
        entries.append((fields[1], fields[2], Path(fields[3])))
    return entries


def _json_entry(entry: object, index: int, path: Path) -> tuple[str, str, Path]:
    """(category, object id, relative path) of entry `index` of OpenShape's listing; a field
    that is missing or not text (a number, a list, null) is one sentence naming it."""
    if not isinstance(entry, dict):
        raise DataError(f"Entry {index} of {path} is not a {{uid, category, data_path}} mapping.")
    for key in ("uid", "category", "data_path"):
        if key not in entry:
            raise DataError(
                f"Entry {index} of {path} has no '{key}'; a published entry has uid, category"
                " and data_path."
            )
        if not isinstance(entry[key], str) or not entry[key]:
            raise DataError(
                f"Entry {index} of {path} has {shown(entry[key])} as its '{key}', where"
                " the published listing has text."
            )
    return entry["category"], entry["uid"], Path(entry["data_path"])
