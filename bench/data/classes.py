"""Named class subsets: train on some class names and test zero-shot on the others.

The 3D zero-shot protocol of Cheraghian et al. ("Zero-shot learning of 3D point cloud objects",
MVA 2019) trains on the 30 ModelNet40 classes that are not in ModelNet10 and tests on the 10
ModelNet10 classes. Recipe settings are chosen on `validation`, 5 of those 30 held out of a
25-class training corpus (`modelnet40_minus_15`), never on the test classes. A subset keeps the
clouds of its classes and classifies among its class names only; `all` keeps the dataset as it
is. `unseen` and `seen` are relative to a training corpus: the dataset's names whose concept the
weights were not (were) trained on, a synonym or hypernym counting as the concept
(`bench.contracts.concepts`); `unseen` is the zero-shot evaluation whatever the datasets.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.concepts import seen_names
from bench.contracts.errors import DataError, UsageError, shown

MODELNET40 = (
    "airplane",
    "bathtub",
    "bed",
    "bench",
    "bookshelf",
    "bottle",
    "bowl",
    "car",
    "chair",
    "cone",
    "cup",
    "curtain",
    "desk",
    "door",
    "dresser",
    "flower pot",
    "glass box",
    "guitar",
    "keyboard",
    "lamp",
    "laptop",
    "mantel",
    "monitor",
    "night stand",
    "person",
    "piano",
    "plant",
    "radio",
    "range hood",
    "sink",
    "sofa",
    "stairs",
    "stool",
    "table",
    "tent",
    "toilet",
    "tv stand",
    "vase",
    "wardrobe",
    "xbox",
)
MODELNET10 = (
    "bathtub",
    "bed",
    "chair",
    "desk",
    "dresser",
    "monitor",
    "night stand",
    "sofa",
    "table",
    "toilet",
)
# Validation classes: 5 of the 30 seen ones, held out of training when a recipe setting is
# chosen, so that the choice never looks at the unseen test classes (docs/protocol.md). Indoor
# objects like the ModelNet10 test names, and by concept unrelated to any of them.
VALIDATION = ("bench", "bookshelf", "lamp", "stool", "wardrobe")
SUBSETS = (
    "all",
    "unseen",
    "seen",
    "modelnet10",
    "modelnet40_minus_10",
    "validation",
    "modelnet40_minus_15",
)
RELATIVE = ("unseen", "seen")  # subsets defined by a training corpus
HELD_OUT = {  # each fixed subset: the names it needs, and whether it keeps or drops them
    "modelnet10": (MODELNET10, True),
    "modelnet40_minus_10": (MODELNET10, False),
    "validation": (VALIDATION, True),
    "modelnet40_minus_15": (MODELNET10 + VALIDATION, False),
}


def subset_names(
    class_names: tuple[str, ...], subset: str, trained: Collection[str] | None = None
) -> tuple[str, ...]:
    """The class names of `subset` among `class_names`, in the dataset's order (`trained`: the
    training corpus's names, or those of `class_names` it has seen)."""
    if subset == "all":
        return class_names
    if subset not in SUBSETS:
        raise UsageError(f"Unknown class subset {shown(subset)}; choose from {', '.join(SUBSETS)}.")
    if subset in RELATIVE:
        if trained is None:
            raise UsageError(f"The class subset '{subset}' needs a training corpus to refer to.")
        seen = set(seen_names(class_names, trained))
        names = tuple(n for n in class_names if (n in seen) == (subset == "seen"))
        if not names:
            raise DataError(f"The dataset has no class names {subset} in training.")
        return names
    needed, keep = HELD_OUT[subset]
    missing = [name for name in needed if name not in class_names]
    if missing:
        raise DataError(
            f"The class subset '{subset}' needs the classes {', '.join(repr(m) for m in missing)},"
            " which the dataset does not have."
        )
    return tuple(name for name in class_names if (name in needed) == keep)


def select_classes(data: CloudSet, subset: str, trained: Collection[str] | None = None) -> CloudSet:
    """The clouds of the subset's classes, labelled among the subset's names only."""
    names = subset_names(data.class_names, subset, trained)
    if names == data.class_names:
        return data
    old = {name: index for index, name in enumerate(data.class_names)}
    relabel = np.full(len(data.class_names), -1, dtype=np.int64)
    relabel[[old[name] for name in names]] = np.arange(len(names))
    labels = relabel[data.labels]
    keep = np.flatnonzero(labels >= 0)
    points = data.points[keep]
    labels = labels[keep]
    images = None if data.image_embeddings is None else data.image_embeddings[keep]
    captions = None if data.captions is None else tuple(data.captions[i] for i in keep)
    return CloudSet(
        points,
        labels,
        names,
        tuple(data.ids[i] for i in keep),
        fingerprint_arrays(points, labels, names, captions),
        images,
        captions,
    )
