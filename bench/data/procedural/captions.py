"""Captions of procedural shapes, written from the generator's own parts and proportions.

ULIP-2 and OpenShape caption their training shapes so that distillation sees more text than a
class name. A procedural shape knows its geometry exactly, so its caption is deterministic and
true: the parts it is made of (boxes, panels, rods, cylinders, disks, cones, rounded shells,
spheres, rings), how many of each, and its proportions (tall, wide, flat, long). The class name
is not part of a caption: class prompts carry it, and captions describe only what is seen.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from bench.data.procedural.primitives import Ellipsoid, Lathe, Quads, Surface, Torus, Triangles

NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def caption(parts: list[Surface], points: np.ndarray) -> str:
    """A one-sentence description of a shape from its parts and a sample of its points."""
    counts: Counter[str] = Counter()
    for part in parts:
        for noun, count in _nouns(part):
            counts[noun] += count
    listed = [_count(noun, n) for noun, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return f"a {_proportions(points)} shape made of {_join(listed)}."


def _nouns(part: Surface) -> list[tuple[str, int]]:
    if isinstance(part, Quads):
        faces = len(part.areas)
        if faces % 6 == 0:
            return [("box", faces // 6)]
        if faces % 5 == 0:
            return [("open box", faces // 5)]
        return [("flat panel", faces)]
    if isinstance(part, Triangles):
        return [("slanted face", len(part.areas))]
    if isinstance(part, Lathe):
        return [(_lathe_noun(part.profile), 1)]
    if isinstance(part, Ellipsoid):
        radii = np.sort(part.radii)
        return [("sphere" if radii[-1] < 1.2 * radii[0] else "rounded cushion", 1)]
    if isinstance(part, Torus):
        return [("ring" if part.arc >= 2 * np.pi - 1e-9 else "curved handle", 1)]
    return [("part", 1)]


def _lathe_noun(profile: np.ndarray) -> str:
    """Name a surface of revolution from its (radius, height) profile."""
    radius, height = profile[:, 0], profile[:, 1]
    length = float(np.ptp(height))
    widest = float(radius.max())
    side = profile[(radius > 1e-9)]
    if len(side) >= 2 and np.ptp(side[:, 0]) > 0.25 * widest:
        if np.count_nonzero(radius > 1e-9) >= 4:
            return "rounded shell"
        return "cone"
    if length > 4 * widest:
        return "rod"
    if length < widest / 2:
        return "disk"
    return "cylinder"


def _proportions(points: np.ndarray) -> str:
    """Height against horizontal extent (y is up), and whether the footprint is long."""
    extent = np.ptp(points, axis=0)
    width, height, depth = (float(e) for e in extent)
    footprint = max(width, depth)
    words = []
    if height > 1.6 * footprint:
        words.append("tall, narrow")
    elif height > 1.1 * footprint:
        words.append("tall")
    elif height < 0.25 * footprint:
        words.append("flat")
    elif height < 0.7 * footprint:
        words.append("low, wide")
    else:
        words.append("compact")
    if min(width, depth) < 0.4 * footprint:
        words.append("long")
    return ", ".join(words)


def _count(noun: str, n: int) -> str:
    number = NUMBERS[n] if n < len(NUMBERS) else "many"
    plural = noun if n == 1 else (noun + "es" if noun.endswith(("x", "s")) else noun + "s")
    return f"{number} {plural}"


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
