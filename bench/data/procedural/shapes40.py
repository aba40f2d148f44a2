"""The 40 ModelNet40 categories of procedural40, in ModelNet40's order, each with its generator.

Class names carry spaces as in ULIP's label list, so text prompts read naturally.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bench.data.classes import MODELNET40
from bench.data.procedural import shapes_cabinets as cab
from bench.data.procedural import shapes_devices as dev
from bench.data.procedural import shapes_furniture as fur
from bench.data.procedural import shapes_household as hh
from bench.data.procedural.primitives import Surface, normalize, sample_surfaces

Generator = Callable[[np.random.Generator], list[Surface]]

GENERATORS: dict[str, Generator] = {
    "airplane": dev.airplane,
    "bathtub": hh.bathtub,
    "bed": fur.bed,
    "bench": fur.bench,
    "bookshelf": cab.bookshelf,
    "bottle": hh.bottle,
    "bowl": hh.bowl,
    "car": dev.car,
    "chair": fur.chair,
    "cone": hh.cone,
    "cup": hh.cup,
    "curtain": cab.curtain,
    "desk": fur.desk,
    "door": cab.door,
    "dresser": cab.dresser,
    "flower pot": hh.flower_pot,
    "glass box": hh.glass_box,
    "guitar": dev.guitar,
    "keyboard": dev.keyboard,
    "lamp": hh.lamp,
    "laptop": dev.laptop,
    "mantel": cab.mantel,
    "monitor": dev.monitor,
    "night stand": cab.night_stand,
    "person": dev.person,
    "piano": dev.piano,
    "plant": hh.plant,
    "radio": dev.radio,
    "range hood": hh.range_hood,
    "sink": hh.sink,
    "sofa": fur.sofa,
    "stairs": cab.stairs,
    "stool": fur.stool,
    "table": fur.table,
    "tent": hh.tent,
    "toilet": hh.toilet,
    "tv stand": cab.tv_stand,
    "vase": hh.vase,
    "wardrobe": cab.wardrobe,
    "xbox": dev.xbox,
}
CLASS_NAMES: tuple[str, ...] = MODELNET40  # GENERATORS is in this order (tested)


def sample_shape(class_index: int, rng: np.random.Generator, points: int) -> np.ndarray:
    """One shape of class `class_index`: parameters first, then `points` surface points, normalised.

    Drawing every shape parameter before any point keeps a shape identical at any point count.
    """
    parts = GENERATORS[CLASS_NAMES[class_index]](rng)
    return normalize(sample_surfaces(parts, points, rng))
