"""ModelNet40 from the files as published, in any of its three public layouts.

- `h5`: `modelnet40_ply_hdf5_2048/` (PointNet): `shape_names.txt`, `train_files.txt` and
  `test_files.txt` listing `ply_data_{train,test}N.h5`, each with `data` (N x 2048 x 3 float32)
  and `label` (N x 1 integers). 9,840 train and 2,468 test clouds.
- `resampled`: `modelnet40_normal_resampled/` (PointNet++): `modelnet40_shape_names.txt`,
  `modelnet40_{train,test}.txt` listing shape ids such as `airplane_0627`, and one
  `<class>/<id>.txt` per shape with 10,000 lines of comma-separated x, y, z, nx, ny, nz.
- `ulip`: ULIP's and Point-BERT's `modelnet40_{train,test}_8192pts_fps.dat` (a pickle of
  [clouds, labels]: 8,192 x 6 farthest-point samples of the resampled files) beside
  `modelnet40_shape_names.txt`, read without running pickle code.
- `openshape`: OpenShape's evaluation copy (`meta_data/modelnet40/`, also in Uni3D's
  `test_datasets.zip`): `test_split.json` (a list of `{"name", "category"}`) and `test_pc.npy`,
  an object array of dicts with `xyz` (10,000 x 3) and `rgb`, read without running pickle code
  (`bench.storage.restricted_pickle`). Test split only.

Class names are the published ones with underscores read as spaces ("night_stand" is "night
stand"), as ULIP's and OpenShape's label lists spell them, so that prompts and the ModelNet10
subset match. Each cloud keeps its first `points` points (all when 0), as PointCLIP and
PointNet++ do, and is centred and scaled into the unit sphere; a cloud shorter than the others
is refused rather than cutting them all (`bench.data.public_files` checks every array read).
With `rgb`, clouds get three colour channels: the file's (OpenShape's, stored as 100 and
divided by 255 as OpenShape does), or OpenShape's constant 0.4 where the layout has none. A
split whose size differs from the published one (9,840 or 9,843 train, 2,468 test) is loaded
with a warning. Nothing is downloaded: a missing file is one sentence saying which, where it is
published and where the harness looked.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.contracts.bounds import FLAG, KEPT_POINTS, PATH, Rules, one_of, require
from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.errors import DataError, UsageError, shown
from bench.contracts.plugins import DATASETS, Dataset, PluginInfo
from bench.data.public_files import (
    data_root,
    finished_clouds,
    first_points,
    read_cloud,
    read_clouds,
    read_colours,
    read_h5,
    read_labels,
    read_text,
    stack_clouds,
)
from bench.storage.restricted_pickle import load_npy, load_pickle

log = logging.getLogger(__name__)
ENV_VAR = "BENCH_MODELNET40"
FORMATS = ("auto", "h5", "ulip", "resampled", "openshape")
# A file whose presence identifies each layout, in the order `auto` tries them.
# ULIP's files sit in the resampled directory: where both are, `auto` reads ULIP's.
MARKERS = {"h5": "shape_names.txt", "ulip": "modelnet40_test_8192pts_fps.dat",
           "resampled": "modelnet40_shape_names.txt", "openshape": "test_split.json"}  # fmt: skip
PUBLISHED = {
    "h5": "modelnet40_ply_hdf5_2048.zip (the PointNet authors' release)",
    "resampled": "modelnet40_normal_resampled.zip (the PointNet++ authors' release)",
    "ulip": "ULIP's and Point-BERT's modelnet40_*_8192pts_fps.dat (their data instructions)",
    "openshape": "OpenShape's meta_data (or Uni3D's data/test_datasets.zip on its model hub)",
}
PUBLISHED_SIZES = {
    ("h5", "train"): 9840, ("h5", "test"): 2468,
    ("resampled", "train"): 9843, ("resampled", "test"): 2468,
    ("ulip", "train"): 9843, ("ulip", "test"): 2468,
    ("openshape", "test"): 2468,
}  # fmt: skip
PUBLISHED_ANY = f"{PUBLISHED['h5']}, {PUBLISHED['resampled']} or {PUBLISHED['openshape']}"
# What a layout's reader returns: clouds [M, P, 3], their colours or None, labels, class names,
# sample ids.
Read = tuple[np.ndarray, np.ndarray | None, np.ndarray, tuple[str, ...], tuple[str, ...]]
SETTING = "modelnet40.points"
OPENSHAPE_RGB_SCALE = 255.0  # OpenShape's ModelNet40 file stores colour as 100: /255 (~0.39)


@dataclass(frozen=True)
class ModelNet40Config:
    root: str = ""  # the unpacked directory; empty: $BENCH_MODELNET40
    format: str = "auto"
    points: int = 0  # the first N points of each cloud; 0 keeps all
    rgb: bool = False

    def __post_init__(self) -> None:
        rules: Rules = {
            "root": PATH,
            "format": one_of(*FORMATS),
            "points": KEPT_POINTS,
            "rgb": FLAG,
        }
        require(self, "modelnet40", rules)


@DATASETS.register("modelnet40")
class ModelNet40(Dataset[ModelNet40Config]):
    """ModelNet40 (Wu et al., 3D ShapeNets, CVPR 2015) read from its published files.

    The directory is where the data is, not what it is: it is left out of cell identities,
    whose data fingerprint covers the clouds themselves.
    """

    Config = ModelNet40Config
    version = 1
    runtime_fields = frozenset({"root"})
    info = PluginInfo(
        display="ModelNet40",
        description="ModelNet40 read from its public h5, resampled-txt or OpenShape files.",
        cite="Wu et al., 3D ShapeNets: A Deep Representation for Volumetric Shapes, CVPR 2015",
    )

    def load(self, split: str) -> CloudSet:
        if split not in ("train", "test"):
            raise UsageError(f"Unknown split {shown(split)} for modelnet40; use 'train' or 'test'.")
        root = self.root()
        layout = self.layout(root)
        if layout == "openshape" and split != "test":
            raise UsageError("OpenShape's ModelNet40 files hold the test split only.")
        reader = {"h5": _read_h5, "resampled": _read_resampled, "ulip": _read_ulip,
                  "openshape": _read_openshape}[layout]  # fmt: skip
        xyz, rgb, labels, names, ids = reader(root, split, self.config)
        published = PUBLISHED_SIZES[layout, split]
        if len(labels) != published:
            log.warning(
                "%s holds %d %s clouds; the published %s layout has %d.",
                root,
                len(labels),
                split,
                layout,
                published,
            )
        points = finished_clouds(xyz, rgb, self.config.rgb)
        fingerprint = fingerprint_arrays(points, labels, names)
        return CloudSet(points, labels, names, ids, fingerprint)

    def root(self) -> Path:
        return data_root(self.config.root, ENV_VAR, "ModelNet40", PUBLISHED_ANY)

    def layout(self, root: Path) -> str:
        if self.config.format != "auto":
            marker = root / MARKERS[self.config.format]
            if not marker.is_file():
                raise UsageError(
                    f"{marker} is missing: the {self.config.format} layout of ModelNet40 is"
                    f" published as {PUBLISHED[self.config.format]}."
                )
            return self.config.format
        for layout, name in MARKERS.items():
            if (root / name).is_file():
                return layout
        looked = ", ".join(MARKERS.values())
        raise UsageError(
            f"{root} holds none of ModelNet40's published layouts (looked for {looked}); unpack"
            f" {PUBLISHED['h5']} or {PUBLISHED['resampled']} there, or {PUBLISHED['openshape']}."
        )


def _class_names(path: Path) -> tuple[str, ...]:
    names = tuple(
        line.strip().replace("_", " ") for line in read_text(path).splitlines() if line.strip()
    )
    if len(names) != 40:
        raise DataError(f"{path} lists {len(names)} class names; ModelNet40 has 40.")
    return names


def _read_h5(root: Path, split: str, config: ModelNet40Config) -> Read:
    names = _class_names(root / MARKERS["h5"])
    listing = root / f"{split}_files.txt"
    files = read_text(listing).split()
    if not files:
        raise DataError(f"{listing} lists no h5 files.")
    clouds: list[np.ndarray] = []
    sources: list[str] = []
    labels, ids = [], []
    for line in files:
        path = root / Path(line).name  # the listing names them under data/...; they sit here
        if not path.is_file():
            raise UsageError(f"{path}, listed in {listing}, is missing.")
        stored = read_h5(path, ("data", "label"), "ModelNet40")
        data = read_clouds(stored["data"], f"'data' in {path}")
        labels.append(read_labels(stored["label"], f"'label' in {path}", len(data), len(names)))
        clouds += list(first_points(data, config.points, f"Each cloud in {path}", SETTING))
        sources += [f"Cloud {i} of {path}" for i in range(len(data))]
        ids += [f"modelnet40/{split}/{path.stem}/{i:04d}" for i in range(len(data))]
    xyz = stack_clouds(clouds, sources, SETTING)
    return xyz, None, np.concatenate(labels), names, tuple(ids)


def _read_resampled(root: Path, split: str, config: ModelNet40Config) -> Read:
    names = _class_names(root / MARKERS["resampled"])
    index = {name.replace(" ", "_"): i for i, name in enumerate(names)}
    listing = root / f"modelnet40_{split}.txt"
    shapes = read_text(listing).split()
    if not shapes:
        raise DataError(f"{listing} lists no shapes.")
    clouds, sources, labels, ids = [], [], [], []
    for shape in shapes:
        category = shape.rsplit("_", 1)[0]
        if category not in index:
            raise DataError(
                f"{listing} lists {shape!r}, whose class {category!r} is not one of the 40."
            )
        path = root / category / f"{shape}.txt"
        try:
            with warnings.catch_warnings():  # an empty file is refused below, not warned about
                warnings.simplefilter("ignore", UserWarning)
                rows = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
        except FileNotFoundError:
            raise UsageError(f"{path}, listed in {listing}, is missing.") from None
        except ValueError as error:
            reason = str(error).split(";")[0]  # numpy's advice on `usecols` is not the user's
            raise DataError(
                f"{path} is not comma-separated x, y, z, nx, ny, nz ({reason})."
            ) from None
        if len(rows) and rows.shape[1] != 6:
            raise DataError(f"{path} has {rows.shape[1]} columns; the resampled files have 6.")
        cloud = read_cloud(rows, str(path), channels=(6,))[:, :3]  # the normals are not colour
        clouds.append(first_points(cloud, config.points, str(path), SETTING))
        sources.append(str(path))
        labels.append(index[category])
        ids.append(f"modelnet40/{split}/{shape}")
    xyz = stack_clouds(clouds, sources, SETTING)
    return xyz, None, np.asarray(labels, dtype=np.int64), names, tuple(ids)


def _read_ulip(root: Path, split: str, config: ModelNet40Config) -> Read:
    names = _class_names(root / MARKERS["resampled"])
    path = root / f"modelnet40_{split}_8192pts_fps.dat"
    if not path.is_file():
        raise UsageError(f"{path} is missing: it is published as {PUBLISHED['ulip']}.")
    stored = load_pickle(path)
    if not (isinstance(stored, list | tuple) and len(stored) == 2):
        raise DataError(f"{path} is not a pickle of [clouds, labels], as ULIP's files are.")
    clouds, labels = stored
    listed = isinstance(clouds, list | tuple) or isinstance(clouds, np.ndarray) and clouds.ndim
    if not listed:
        raise DataError(f"{path} holds {type(clouds).__name__} where ULIP's hold a list of clouds.")
    if len(clouds) == 0:
        raise DataError(f"{path} holds no clouds.")
    sources = [f"Cloud {i} of {path}" for i in range(len(clouds))]
    kept = [
        first_points(read_cloud(cloud, source, (3, 6))[:, :3], config.points, source, SETTING)
        for cloud, source in zip(clouds, sources, strict=True)
    ]  # the normals are not colour
    flat = read_labels(labels, f"The label list of {path}", len(kept), len(names))
    ids = tuple(f"modelnet40/{split}/ulip/{i:05d}" for i in range(len(flat)))
    return stack_clouds(kept, sources, SETTING), None, flat, names, ids


def _read_openshape(root: Path, split: str, config: ModelNet40Config) -> Read:
    split_path, clouds_path = root / "test_split.json", root / "test_pc.npy"
    try:
        listed = json.loads(read_text(split_path))
        entries = [(str(e["name"]), str(e["category"]).replace("_", " ")) for e in listed]
    except (ValueError, TypeError, KeyError) as error:
        raise DataError(f"{split_path} is not a list of {{name, category}} ({error}).") from None
    if not entries:
        raise DataError(f"{split_path} lists no clouds.")
    names_path = root / "modelnet40_shape_names.txt"
    if names_path.is_file():
        names = _class_names(names_path)
    else:  # OpenShape's own copy has no name list: the 40 categories in sorted order
        names = tuple(sorted({category for _, category in entries}))
    index = {name: i for i, name in enumerate(names)}
    if not clouds_path.is_file():
        raise UsageError(
            f"{clouds_path} is missing: it is published with {PUBLISHED['openshape']}."
        )
    stored = load_npy(clouds_path)
    if stored.ndim != 1:
        raise DataError(
            f"{clouds_path} holds an array of shape {stored.shape}, not one dict per cloud."
        )
    if len(stored) != len(entries):
        raise DataError(
            f"{clouds_path} holds {len(stored)} clouds but {split_path} lists {len(entries)}."
        )
    clouds, colours, sources = [], [], []
    for position, item in enumerate(stored):
        entry = f"entry {position} of {clouds_path}"
        if not isinstance(item, dict) or "xyz" not in item:
            raise DataError(f"Entry {position} of {clouds_path} is not a dict with 'xyz'.")
        xyz = read_cloud(item["xyz"], f"'xyz' in {entry}")
        clouds.append(first_points(xyz, config.points, f"'xyz' in {entry}", SETTING))
        sources.append(f"'xyz' in {entry}")
        if config.rgb and "rgb" in item:
            colour = read_colours(item["rgb"], f"'rgb' in {entry}", xyz.shape)
            colours.append(first_points(colour, config.points, f"'rgb' in {entry}", SETTING))
        elif colours:  # some entries coloured, others not
            raise DataError(f"Entry {position} of {clouds_path} has no 'rgb' where others do.")
    unknown = [c for _, c in entries if c not in index]
    if unknown:
        raise DataError(f"{split_path} has category {unknown[0]!r}, not one of the 40 class names.")
    labels = np.asarray([index[c] for _, c in entries], dtype=np.int64)
    ids = tuple(f"modelnet40/test/{name}" for name, _ in entries)
    xyz = stack_clouds(clouds, sources, SETTING)  # before the colours, which match them
    if colours and len(colours) < len(clouds):
        raise DataError(f"Entry 0 of {clouds_path} has no 'rgb' where others do.")
    rgb = np.stack(colours) / OPENSHAPE_RGB_SCALE if colours else None  # none: the constant
    return xyz, rgb, labels, names, ids
