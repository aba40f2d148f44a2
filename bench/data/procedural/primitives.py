"""Surface primitives sampled uniformly by area, the building blocks of the procedural shapes.

Every primitive knows its exact area and draws points uniformly over its surface, so a shape made
of several parts receives points in proportion to each part's area, as when a mesh is sampled.
Primitives are placed with rigid motions only: a non-uniform scale would break the uniformity.
Coordinates are y-up; all math is float64 so that generation is reproducible bit for bit.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

# One point, direction or size (x, y, z), or one (radius, height) vertex of a lathe's profile.
Vec = Sequence[float] | np.ndarray
# Several of them: [k, 3] points or sizes, [k, 2] profiles and polygons.
Vecs = Sequence[Vec] | np.ndarray


class Surface(ABC):
    """A surface with a known area that can draw points uniformly over itself."""

    @abstractmethod
    def area(self) -> float: ...

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` points [n, 3] drawn uniformly by area."""
        ...


def _pick(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """Indices of `n` draws, each element chosen with probability proportional to its weight."""
    cumulative = np.cumsum(weights)
    index = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    return np.minimum(index, len(weights) - 1)


class Quads(Surface):
    """Parallelograms `origin + s*u + t*v` (s, t in [0, 1]); a box is six of them."""

    def __init__(self, origin: Vec | Vecs, u: Vec | Vecs, v: Vec | Vecs) -> None:
        self.origin, self.u, self.v = (
            np.asarray(a, dtype=np.float64).reshape(-1, 3) for a in (origin, u, v)
        )
        self.areas = np.linalg.norm(np.cross(self.u, self.v), axis=1)

    def area(self) -> float:
        return float(self.areas.sum())

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        i = _pick(rng, self.areas, n)
        s, t = rng.random((2, n, 1))
        return self.origin[i] + s * self.u[i] + t * self.v[i]


class Triangles(Surface):
    """Triangles [k, 3 corners, 3]; for faces that are not parallelograms (tents, hoods, prisms)."""

    def __init__(self, corners: Sequence[Vecs] | np.ndarray) -> None:
        self.corners = np.asarray(corners, dtype=np.float64).reshape(-1, 3, 3)
        edges = self.corners[:, 1:] - self.corners[:, :1]
        self.areas = 0.5 * np.linalg.norm(np.cross(edges[:, 0], edges[:, 1]), axis=1)

    def area(self) -> float:
        return float(self.areas.sum())

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        i = _pick(rng, self.areas, n)
        a, b = rng.random((2, n, 1))
        root = np.sqrt(a)
        c = self.corners[i]
        return (1 - root) * c[:, 0] + root * (1 - b) * c[:, 1] + root * b * c[:, 2]


class Lathe(Surface):
    """A surface of revolution about the local y axis: a profile of (radius, height) vertices.

    Each profile segment is a frustum (a disk or annulus when its heights are equal), so cylinders,
    cones, caps, cups and vases are all lathes.
    """

    def __init__(
        self, profile: Vecs, origin: Vec = (0, 0, 0), rotation: np.ndarray | None = None
    ) -> None:
        self.profile = np.asarray(profile, dtype=np.float64).reshape(-1, 2)
        self.origin = np.asarray(origin, dtype=np.float64)
        self.rotation = np.eye(3) if rotation is None else rotation
        r0, h0 = self.profile[:-1].T
        r1, h1 = self.profile[1:].T
        self.areas = np.pi * (r0 + r1) * np.hypot(r1 - r0, h1 - h0)

    def area(self) -> float:
        return float(self.areas.sum())

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        i = _pick(rng, self.areas, n)
        u, angle = rng.random(n), rng.random(n) * 2 * np.pi
        (r0, h0), (r1, h1) = self.profile[i].T, self.profile[i + 1].T
        # The area density along a segment grows with the radius: invert its linear CDF.
        dr = r1 - r0
        flat = np.abs(dr) < 1e-12
        t = np.where(flat, u, (np.sqrt(r0**2 + u * (r1**2 - r0**2)) - r0) / np.where(flat, 1.0, dr))
        radius, height = r0 + dr * t, h0 + (h1 - h0) * t
        local = np.stack([radius * np.cos(angle), height, radius * np.sin(angle)], axis=1)
        return local @ self.rotation.T + self.origin


class Ellipsoid(Surface):
    """An ellipsoid surface, sampled by rejection from the sphere so that the density is by area."""

    def __init__(self, center: Vec, radii: Vec, rotation: np.ndarray | None = None) -> None:
        self.center = np.asarray(center, dtype=np.float64)
        self.radii = np.asarray(radii, dtype=np.float64) * np.ones(3)
        self.rotation = np.eye(3) if rotation is None else rotation

    def area(self) -> float:
        p = 1.6075  # Knud Thomsen's approximation, within about 1 percent
        a, b, c = self.radii**p
        return float(4 * np.pi * ((a * b + a * c + b * c) / 3) ** (1 / p))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        a, b, c = self.radii
        scale = np.array([b * c, a * c, a * b])
        bound = scale.max()
        kept: list[np.ndarray] = []
        while sum(len(k) for k in kept) < n:
            unit = rng.normal(size=(2 * n + 8, 3))
            unit /= np.linalg.norm(unit, axis=1, keepdims=True)
            density = np.linalg.norm(unit * scale, axis=1)
            kept.append(unit[rng.random(len(unit)) * bound < density])
        local = np.concatenate(kept)[:n] * self.radii
        return local @ self.rotation.T + self.center


class Torus(Surface):
    """A torus (or an arc of one) around the local y axis: handles, rings, seats, footrests."""

    def __init__(
        self,
        center: Vec,
        major: float,
        minor: float,
        rotation: np.ndarray | None = None,
        arc: float = 2 * np.pi,
    ) -> None:
        self.center = np.asarray(center, dtype=np.float64)
        self.major, self.minor, self.arc = major, minor, arc
        self.rotation = np.eye(3) if rotation is None else rotation

    def area(self) -> float:
        return float(self.arc * self.major * 2 * np.pi * self.minor)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        kept: list[np.ndarray] = []
        while sum(len(k) for k in kept) < n:
            tube = rng.random(2 * n + 8) * 2 * np.pi
            weight = (self.major + self.minor * np.cos(tube)) / (self.major + self.minor)
            kept.append(tube[rng.random(len(tube)) < weight])
        tube = np.concatenate(kept)[:n]
        around = rng.random(n) * self.arc
        ring = self.major + self.minor * np.cos(tube)
        local = np.stack(
            [ring * np.cos(around), self.minor * np.sin(tube), ring * np.sin(around)], 1
        )
        return local @ self.rotation.T + self.center


def rotation(axis: str, angle: float) -> np.ndarray:
    """The 3x3 rotation by `angle` radians about the x, y or z axis."""
    c, s = np.cos(angle), np.sin(angle)
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


def align_y(direction: Vec) -> np.ndarray:
    """A rotation taking the local y axis onto `direction`."""
    y = np.asarray(direction, dtype=np.float64)
    y = y / np.linalg.norm(y)
    helper = np.array([1.0, 0, 0]) if abs(y[0]) < 0.9 else np.array([0, 0, 1.0])
    x = np.cross(y, helper)
    x /= np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def boxes(
    centers: Vecs,
    sizes: float | Vec | Vecs,
    rotation_: np.ndarray | None = None,
    open_top: bool = False,
) -> Quads:
    """Closed axis-aligned boxes (or open-topped trays), optionally rotated about their centres;
    one size (or one edge length) is shared by every box."""
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 3)
    half = np.broadcast_to(np.asarray(sizes, dtype=np.float64), centers.shape) / 2
    rot = np.eye(3) if rotation_ is None else rotation_
    origins, us, vs = [], [], []
    for axis in range(3):
        a, b = (axis + 1) % 3, (axis + 2) % 3
        for sign in (-1.0, 1.0):
            if open_top and axis == 1 and sign > 0:
                continue
            corner = np.zeros_like(half)
            corner[:, axis] = sign * half[:, axis]
            corner[:, a], corner[:, b] = -half[:, a], -half[:, b]
            u, v = np.zeros_like(half), np.zeros_like(half)
            u[:, a], v[:, b] = 2 * half[:, a], 2 * half[:, b]
            origins.append(corner @ rot.T + centers)
            us.append(u @ rot.T)
            vs.append(v @ rot.T)
    return Quads(np.concatenate(origins), np.concatenate(us), np.concatenate(vs))


def box(center: Vec, size: Vec, rotation_: np.ndarray | None = None) -> Quads:
    """One closed box of `size` (x, y, z) around `center`."""
    return boxes([center], [size], rotation_)


def tube(
    start: Vec, end: Vec, radius: float, end_radius: float | None = None, caps: bool = True
) -> Lathe:
    """A cylinder (or frustum) from `start` to `end`: legs, poles, limbs, wheels."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    top = radius if end_radius is None else end_radius
    length = float(np.linalg.norm(end - start))
    profile = [(radius, 0.0), (top, length)]
    if caps:
        profile = [(0.0, 0.0), *profile, (0.0, length)]
    return Lathe(profile, start, align_y(end - start))


def sphere(center: Vec, radius: float) -> Ellipsoid:
    return Ellipsoid(center, (radius, radius, radius))


def prism(
    polygon: Vecs,
    depth: float,
    z: float = 0.0,
    rotation_: np.ndarray | None = None,
    offset: Vec = (0, 0, 0),
) -> list[Surface]:
    """A convex polygon in the x-y plane extruded along z from `z - depth/2` to `z + depth/2`.

    `rotation_` then turns the solid about the origin (e.g. to extrude upwards) before `offset`.
    """
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    k = len(poly)
    rot = np.eye(3) if rotation_ is None else rotation_
    lo = np.column_stack([poly, np.full(k, z - depth / 2)])
    hi = (lo + [0, 0, depth]) @ rot.T + offset
    lo = lo @ rot.T + offset
    fan = np.array([[0, i, i + 1] for i in range(1, k - 1)])
    caps = Triangles(np.concatenate([lo[fan], hi[fan]]))
    nxt = np.roll(np.arange(k), -1)
    sides = Quads(lo, lo[nxt] - lo, hi - lo)
    return [caps, sides]


def loft(bottom: Vecs, top: Vecs) -> Triangles:
    """The side walls between two stacked quadrilaterals [4, 3] (a truncated pyramid's sides)."""
    b, t = np.asarray(bottom, dtype=np.float64), np.asarray(top, dtype=np.float64)
    tris = []
    for i in range(4):
        j = (i + 1) % 4
        tris += [[b[i], b[j], t[j]], [b[i], t[j], t[i]]]
    return Triangles(np.array(tris))


def sample_surfaces(parts: Sequence[Surface], n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` points [n, 3] over a shape: each part receives a share proportional to its area."""
    areas = np.array([part.area() for part in parts])
    counts = rng.multinomial(n, areas / areas.sum())
    points = np.concatenate(
        [part.sample(rng, int(c)) for part, c in zip(parts, counts, strict=True) if c]
    )
    return points[rng.permutation(n)]


def normalize(points: np.ndarray) -> np.ndarray:
    """Centre on the centroid and scale so that the farthest point lies on the unit sphere."""
    centred = points - points.mean(axis=0)
    return centred / np.linalg.norm(centred, axis=1).max()
