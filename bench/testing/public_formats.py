"""Small stand-ins for public dataset files, written in their exact published layouts.

The real files are gigabytes behind download pages; tests and the conformance suite write a
few clouds in the same layout (file names, h5 keys and dtypes, text columns, npy dicts, split
json) so that every loader is exercised on the format it will meet.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.data.procedural.shapes40 import CLASS_NAMES

PUBLISHED_NAMES = tuple(name.replace(" ", "_") for name in CLASS_NAMES)  # as the files spell them


def _clouds(count: int, points: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (count, points, 3)).astype(np.float32)


def write_modelnet40_h5(root: Path, per_class: int = 1, points: int = 2048) -> Path:
    """`modelnet40_ply_hdf5_2048/`: shape_names.txt, {train,test}_files.txt, ply_data_*.h5."""
    import h5py

    root.mkdir(parents=True, exist_ok=True)
    (root / "shape_names.txt").write_text("\n".join(PUBLISHED_NAMES) + "\n")
    labels = np.repeat(np.arange(40, dtype=np.uint8), per_class)
    for split, files in (("train", 2), ("test", 1)):
        listed = []
        for part, chunk in enumerate(np.array_split(labels, files)):
            name = f"ply_data_{split}{part}.h5"
            with h5py.File(root / name, "w") as file:
                file.create_dataset("data", data=_clouds(len(chunk), points, part))
                file.create_dataset("label", data=chunk.reshape(-1, 1))
                file.create_dataset("normal", data=_clouds(len(chunk), points, 9))
            listed.append(f"data/modelnet40_ply_hdf5_2048/{name}")
        (root / f"{split}_files.txt").write_text("\n".join(listed) + "\n")
    return root


def write_modelnet40_resampled(root: Path, per_class: int = 1, points: int = 10000) -> Path:
    """`modelnet40_normal_resampled/`: names, {train,test} id lists, <class>/<id>.txt (x,y,z,n)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "modelnet40_shape_names.txt").write_text("\n".join(PUBLISHED_NAMES) + "\n")
    for split, offset in (("train", 1), ("test", 1000)):
        ids = []
        for label, name in enumerate(PUBLISHED_NAMES):
            for k in range(per_class):
                shape = f"{name}_{offset + k:04d}"
                ids.append(shape)
                xyz = _clouds(1, points, label + offset)[0]
                rows = np.concatenate([xyz, np.tile([0.0, 1.0, 0.0], (points, 1))], axis=1)
                (root / name).mkdir(exist_ok=True)
                np.savetxt(root / name / f"{shape}.txt", rows, fmt="%.6f", delimiter=",")
        (root / f"modelnet40_{split}.txt").write_text("\n".join(ids) + "\n")
    return root


def write_modelnet40_ulip(root: Path, per_class: int = 1, points: int = 8192) -> Path:
    """ULIP's `modelnet40_{train,test}_8192pts_fps.dat` (a pickle of [list of P x 6 float32
    clouds, list of (1,) int32 labels]) beside `modelnet40_shape_names.txt`."""
    import pickle

    root.mkdir(parents=True, exist_ok=True)
    (root / "modelnet40_shape_names.txt").write_text("\n".join(PUBLISHED_NAMES) + "\n")
    for split, seed in (("train", 5), ("test", 6)):
        clouds = _clouds(40 * per_class, points, seed)
        rows = [np.concatenate([c, np.zeros_like(c)], axis=1) for c in clouds]
        labels = [np.array([c], dtype=np.int32) for c in np.repeat(np.arange(40), per_class)]
        with (root / f"modelnet40_{split}_8192pts_fps.dat").open("wb") as file:
            pickle.dump([rows, labels], file)
    return root


def write_modelnet40_openshape(root: Path, per_class: int = 1, points: int = 10000) -> Path:
    """OpenShape's `meta_data/modelnet40/`: test_split.json and an object-array test_pc.npy."""
    root.mkdir(parents=True, exist_ok=True)
    split, clouds = [], np.empty(40 * per_class, dtype=object)
    for label, name in enumerate(CLASS_NAMES):
        for k in range(per_class):
            index = label * per_class + k
            split.append({"name": f"{PUBLISHED_NAMES[label]}_{k + 1:04d}", "category": name})
            clouds[index] = {
                "xyz": _clouds(1, points, index)[0],
                "rgb": np.full((points, 3), 100.0, dtype=np.float32),
            }
    (root / "test_split.json").write_text(json.dumps(split))
    np.save(root / "test_pc.npy", clouds, allow_pickle=True)
    return root


def write_scanobjectnn_h5(
    root: Path, variant: str = "obj_only", per_class: int = 1, points: int = 2048
) -> Path:
    """The official release: `main_split[_nobg]/{training,test}_objectdataset[...].h5`, keys
    `data` (float32 N x P x 3), `label` (int64 N) and `mask` (int64 N x P)."""
    import h5py

    from bench.datasets.scanobjectnn import FILES

    directory, suffix = FILES[variant]
    (root / directory).mkdir(parents=True, exist_ok=True)
    labels = np.repeat(np.arange(15, dtype=np.int64), per_class)
    for prefix, seed in (("training", 1), ("test", 2)):
        with h5py.File(root / directory / f"{prefix}_objectdataset{suffix}.h5", "w") as file:
            file.create_dataset("data", data=_clouds(len(labels), points, seed))
            file.create_dataset("label", data=labels)
            file.create_dataset("mask", data=np.zeros((len(labels), points), dtype=np.int64))
    return root


def write_scanobjectnn_openshape(root: Path, count: int = 30, points: int = 2048) -> Path:
    """OpenShape's `scanobjectnn/xyz_label.npy`: a pickled dict with `xyz` and `label`."""
    root.mkdir(parents=True, exist_ok=True)
    content = {"xyz": _clouds(count, points, 3), "label": np.arange(count, dtype=np.int64) % 15}
    np.save(root / "xyz_label.npy", np.array(content, dtype=object), allow_pickle=True)
    return root


LVIS_SAMPLE = ("aerosol_can", "alarm_clock", "banana", "Band_Aid", "teddy_bear")  # raw names


def _lvis_objects(root: Path, per_class: int, points: int) -> list[tuple[str, str, str]]:
    """Write one OpenShape-style object dict per (category, k); (category, uid, relative path)."""
    objects = []
    for c, category in enumerate(LVIS_SAMPLE):
        for k in range(per_class):
            uid = f"{c:02d}{k:02d}" + "0" * 28
            relative = f"objaverse/000-{c:03d}/{uid}.npy"
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            content = {
                "xyz": _clouds(1, points, 10 * c + k)[0],
                "rgb": np.full((points, 3), 0.5, dtype=np.float32),
                "text": ["a caption"],  # the published dicts carry other fields too
            }
            np.save(root / relative, np.array(content, dtype=object), allow_pickle=True)
            objects.append((category, uid, relative))
    return objects


def write_objaverse_lvis_openshape(root: Path, per_class: int = 2, points: int = 10000) -> Path:
    """OpenShape's `split/lvis.json` (uid, category, group, data_path) and per-object npy dicts."""
    objects = _lvis_objects(root, per_class, points)
    listing = [
        {"uid": uid, "category": category, "group": "lvis", "data_path": relative}
        for category, uid, relative in objects
    ]
    (root / "split").mkdir(parents=True, exist_ok=True)
    (root / "split" / "lvis.json").write_text(json.dumps(listing))
    return root


def write_objaverse_lvis_uni3d(root: Path, per_class: int = 2, points: int = 10000) -> Path:
    """Uni3D's `lvis_testset.txt` (cate_id,cate_name,model_id,path) and per-object npy dicts."""
    objects = _lvis_objects(root, per_class, points)
    ids = {category: i for i, category in enumerate(sorted(LVIS_SAMPLE))}
    lines = [f"{ids[c]},{c},{uid},{relative}" for c, uid, relative in objects]
    (root / "lvis_testset.txt").write_text("\n".join(lines) + "\n")
    return root


def write_openshape_class_embeddings(
    path: Path, class_names: tuple[str, ...] = CLASS_NAMES, width: int = 1280, seed: int = 0
) -> Path:
    """OpenShape's `cat_name_pt_feat.npy`: a pickled dict category -> {"open_clip_text_feat":
    [1, width] float32}, in the class order of the dataset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    table = {
        name: {"open_clip_text_feat": rng.normal(size=(1, width)).astype(np.float32)}
        for name in class_names
    }
    np.save(path, np.array(table, dtype=object), allow_pickle=True)
    return path


SHAPENET_SYNSETS = {"02691156": "airplane,aeroplane,plane", "03001627": "chair",
                    "04379243": "table", "03636649": "lamp"}  # fmt: skip


def write_shapenet55_ulip(root: Path, per_class: int = 3, points: int = 8192) -> Path:
    """ULIP's `shapenet-55/`: train.txt and test.txt naming `<synset>-<model>.npy` files in
    shapenet_pc/, and ShapeNetCore's taxonomy.json (four of the 55 synsets)."""
    (root / "shapenet_pc").mkdir(parents=True, exist_ok=True)
    taxonomy = [{"synsetId": s, "name": n, "children": [], "numInstances": per_class}
                for s, n in SHAPENET_SYNSETS.items()]  # fmt: skip
    (root / "taxonomy.json").write_text(json.dumps(taxonomy))
    for split, offset in (("train", 0), ("test", 1000)):
        names = []
        for label, synset in enumerate(SHAPENET_SYNSETS):
            for k in range(per_class):
                name = f"{synset}-{offset + k:032x}.npy"
                cloud = _clouds(1, points, offset + 10 * label + k)[0]
                cloud[:, label % 3] *= 3  # each class its own elongation, something to learn
                np.save(root / "shapenet_pc" / name, cloud)
                names.append(name)
        (root / f"{split}.txt").write_text("\n".join(names) + "\n")
    return root
