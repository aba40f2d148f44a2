"""Generators for the household classes of procedural40: vessels, fixtures, plants, lamps, tents.

Round objects are lathes (surfaces of revolution) of a random profile, so bottles, vases, cups,
bowls and pots differ in profile statistics rather than in part lists, as their real meshes do.
Units are roughly metres, y up, front towards +z.
"""

from __future__ import annotations

import numpy as np

from bench.data.procedural.primitives import (
    Ellipsoid,
    Lathe,
    Quads,
    Surface,
    Torus,
    Vec,
    box,
    boxes,
    loft,
    prism,
    rotation,
    sphere,
    tube,
)

Parts = list[Surface]
SIDE_RING = rotation("z", np.pi / 2) @ rotation("x", np.pi / 2)  # a torus arc bulging towards +x


def vessel(profile: list[tuple[float, float]], wall: float) -> list[tuple[float, float]]:
    """An open container's lathe path: up the outside `profile`, over the rim, down the inside."""
    outer = np.asarray(profile, dtype=np.float64)
    inner = np.column_stack([np.maximum(outer[:, 0] - wall, 0.0), np.maximum(outer[:, 1], wall)])
    return [(0.0, 0.0), *map(tuple, outer), *map(tuple, inner[::-1]), (0.0, wall)]


def smooth_profile(
    radii: list[float], heights: list[float], count: int = 24
) -> list[tuple[float, float]]:
    """Radii eased between control heights (smoothstep), for curvy vases and bottles."""
    ys = np.linspace(heights[0], heights[-1], count)
    segment = np.clip(np.searchsorted(heights, ys, side="right") - 1, 0, len(heights) - 2)
    h0, h1 = np.asarray(heights)[segment], np.asarray(heights)[segment + 1]
    t = (ys - h0) / (h1 - h0)
    ease = t * t * (3 - 2 * t)
    r0, r1 = np.asarray(radii)[segment], np.asarray(radii)[segment + 1]
    return list(zip(r0 + (r1 - r0) * ease, ys, strict=True))


def tray(
    w: float, h: float, d: float, wall: float, y0: float, center: tuple[float, float] = (0, 0)
) -> Parts:
    """An open rectangular basin with walls of thickness `wall`: bathtubs and sinks."""
    cx, cz = center
    y = y0 + h
    rim = Quads(
        [
            (cx - w / 2, y, cz - d / 2),
            (cx - w / 2, y, cz + d / 2 - wall),
            (cx - w / 2, y, cz - d / 2 + wall),
            (cx + w / 2 - wall, y, cz - d / 2 + wall),
        ],
        [(w, 0, 0), (w, 0, 0), (wall, 0, 0), (wall, 0, 0)],
        [(0, 0, wall), (0, 0, wall), (0, 0, d - 2 * wall), (0, 0, d - 2 * wall)],
    )
    outer = boxes([(cx, y0 + h / 2, cz)], (w, h, d), open_top=True)
    inner = boxes(
        [(cx, y0 + wall + (h - wall) / 2, cz)],
        (w - 2 * wall, h - wall, d - 2 * wall),
        open_top=True,
    )
    return [outer, inner, rim]


def faucet(base: tuple[float, float, float], reach: tuple[float, float, float]) -> Parts:
    """A vertical pipe rising 15 cm from `base`, then a spout along `reach`."""
    top = np.add(base, (0, 0.15, 0))
    return [tube(base, top, 0.015), tube(top, top + reach, 0.012)]


def bathtub(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d, wall = u(1.4, 1.85), u(0.45, 0.62), u(0.68, 0.85), u(0.04, 0.1)
    lift = u(0.1, 0.18) if r.random() < 0.3 else 0.0
    parts = tray(w, h, d, wall, lift)
    if lift:
        parts.append(
            boxes(
                [
                    (sx * (w / 2 - 0.12), lift / 2, sz * (d / 2 - 0.1))
                    for sx in (-1, 1)
                    for sz in (-1, 1)
                ],
                (0.08, lift, 0.08),
            )
        )
    if r.random() < 0.6:
        parts += faucet((-w / 2 + wall / 2, lift + h, 0.0), (0.15, 0, 0))
    return parts


def sink(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d, bh = u(0.5, 0.75), u(0.4, 0.55), u(0.14, 0.2)
    top = u(0.8, 0.9)
    if r.random() < 0.4:
        parts = tray(w, bh, d, 0.04, top - bh)
        parts.append(Lathe([(0, 0), (0.16, 0), (0.09, 0.12), (0.07, top - bh), (0, top - bh)]))
    else:
        cw = w + u(0.1, 0.7)
        parts = [box((0, (top - 0.04) / 2, 0), (cw, top - 0.04, d))]
        parts += tray(w - 0.1, bh, d - 0.12, 0.02, top - bh, (0, 0.03))
        parts.append(
            boxes(
                [(sx * (cw + w - 0.1) / 4, top - 0.02, 0) for sx in (-1, 1)],
                ((cw - w + 0.1) / 2, 0.04, d),
            )
        )
        parts.append(box((0, top - 0.02, -d / 2 + 0.045), (w - 0.1, 0.04, 0.09)))
        parts.append(
            boxes(
                [(sx * cw / 4, top / 2, d / 2 + 0.01) for sx in (-1, 1)],
                (cw / 2 - 0.02, top - 0.12, 0.02),
            )
        )
    parts += faucet((0, top, -d / 2 + 0.05), (0, 0, 0.12))
    return parts


def toilet(r: np.random.Generator) -> Parts:
    u = r.uniform
    rim, seat_h = u(0.17, 0.22), u(0.38, 0.44)
    parts: Parts = [
        Lathe(
            vessel([(0.11, 0.0), (0.1, 0.15), (rim * 0.8, 0.28), (rim, seat_h)], 0.03), (0, 0, 0.05)
        )
    ]
    parts.append(Torus((0, seat_h + 0.015, 0.05), rim * 0.75, rim * 0.22))
    if r.random() < 0.5:
        parts.append(
            Lathe(
                [(0, 0), (rim, 0), (rim, 0.02), (0, 0.02)],
                (0, seat_h + rim + 0.05, -rim + 0.01),
                rotation("x", np.pi / 2 - 0.1),
            )
        )
    else:
        parts.append(tube((0, seat_h + 0.04, 0.05), (0, seat_h + 0.06, 0.05), rim))
    if r.random() < 0.85:
        tw, th, td = u(0.36, 0.5), u(0.3, 0.45), u(0.15, 0.22)
        parts.append(box((0, seat_h + th / 2 - 0.05, -rim - td / 2), (tw, th, td)))
    return parts


def bottle(r: np.random.Generator) -> Parts:
    u = r.uniform
    radius, body = u(0.03, 0.05), u(0.12, 0.24)
    shoulder, neck_r, neck = u(0.02, 0.07), radius * u(0.3, 0.45), u(0.04, 0.1)
    cap = neck_r * u(1.0, 1.25)
    top = body + shoulder + neck
    profile = [
        (0, 0),
        (radius, 0),
        (radius, body),
        (neck_r, body + shoulder),
        (neck_r, top),
        (cap, top),
        (cap, top + 0.02),
        (0, top + 0.02),
    ]
    return [Lathe(profile)]


def bowl(r: np.random.Generator) -> Parts:
    u = r.uniform
    radius, rim, foot = u(0.08, 0.15), u(np.radians(65), np.radians(95)), u(0.3, 0.5)
    angles = np.linspace(np.arcsin(foot), rim, 12)
    lift = radius * u(0.03, 0.08)
    cap = [(radius * np.sin(a), lift + radius * (np.cos(angles[0]) - np.cos(a))) for a in angles]
    return [Lathe(vessel([(radius * foot * 0.9, 0.0), *cap], radius * 0.04))]


def cup(r: np.random.Generator) -> Parts:
    u = r.uniform
    r0, r1, h = u(0.03, 0.045), u(0.035, 0.055), u(0.07, 0.12)
    parts: Parts = [Lathe(vessel([(r0, 0), (r1, h)], 0.004))]
    if r.random() < 0.85:
        parts.append(Torus(((r0 + r1) / 2, h / 2, 0), h * u(0.25, 0.35), 0.008, SIDE_RING, np.pi))
    return parts


def vase(r: np.random.Generator) -> Parts:
    u = r.uniform
    h, base = u(0.25, 0.5), u(0.04, 0.08)
    radii = [base, base * u(1.3, 2.2), base * u(0.4, 0.8), base * u(0.6, 1.3)]
    heights = [0.0, h * u(0.25, 0.5), h * u(0.7, 0.85), h]
    parts: Parts = [Lathe(vessel(smooth_profile(radii, heights), 0.005))]
    if r.random() < 0.25:
        for sx in (-1, 1):
            parts.append(
                Torus(
                    (sx * radii[2], h * 0.7, 0),
                    h * 0.1,
                    0.006,
                    rotation("y", np.pi if sx < 0 else 0) @ SIDE_RING,
                    np.pi,
                )
            )
    return parts


def pot(r: np.random.Generator, rt: float, h: float) -> Parts:
    """A tapered flower pot with a lip and soil, `rt` wide at the top."""
    rb = rt * r.uniform(0.6, 0.85)
    return [
        Lathe(vessel([(rb, 0), (rt, h), (rt * 1.1, h), (rt * 1.1, h * 1.1)], 0.01)),
        Lathe([(0, h * 0.9), (rt * 0.95, h * 0.9)]),
    ]


def leaves(r: np.random.Generator, count: int, y0: float, length: float, spread: float) -> Parts:
    """Leaves on short stems fanning out and up from the point (0, y0, 0)."""
    parts: Parts = []
    for _ in range(count):
        az, elev = r.uniform(0, 2 * np.pi), r.uniform(0.3, 1.4)
        direction = np.array([np.cos(elev) * np.cos(az), np.sin(elev), np.cos(elev) * np.sin(az)])
        stem = np.array([0, y0, 0]) + direction * spread * r.uniform(0.3, 1.0)
        parts.append(tube((0, y0, 0), stem, 0.004, caps=False))
        tilt = rotation("y", -az) @ rotation("z", elev * 0.7)
        parts.append(
            Ellipsoid(stem + direction * length * 0.5, (length * 0.5, 0.004, length * 0.18), tilt)
        )
    return parts


def flower_pot(r: np.random.Generator) -> Parts:
    u = r.uniform
    rt, h = u(0.1, 0.2), u(0.12, 0.25)
    parts = pot(r, rt, h)
    if r.random() < 0.6:
        for _ in range(int(r.integers(2, 6))):
            tip = (u(-rt, rt) * 0.6, h * 0.9 + u(0.05, 0.12), u(-rt, rt) * 0.6)
            parts += [
                tube((tip[0] * 0.5, h * 0.9, tip[2] * 0.5), tip, 0.003),
                sphere(tip, u(0.012, 0.025)),
            ]
    return parts


def plant(r: np.random.Generator) -> Parts:
    u = r.uniform
    rt, h = u(0.06, 0.12), u(0.08, 0.16)
    parts = pot(r, rt, h)
    size = u(2.0, 4.0) * h
    if r.random() < 0.65:
        parts.append(tube((0, h * 0.9, 0), (0, h + size * 0.3, 0), 0.006))
        parts += leaves(r, int(r.integers(8, 20)), h + size * 0.3, size * u(0.4, 0.7), size * 0.5)
    else:
        parts.append(tube((0, h * 0.9, 0), (0, h + size * 0.5, 0), 0.01))
        for _ in range(int(r.integers(6, 14))):
            offset = r.normal(size=3) * [size * 0.3, size * 0.2, size * 0.3]
            parts.append(
                sphere((offset[0], h + size * 0.7 + offset[1], offset[2]), size * u(0.12, 0.25))
            )
    return parts


def lamp(r: np.random.Generator) -> Parts:
    u = r.uniform
    floor = r.random() < 0.4
    pole = u(1.2, 1.7) if floor else u(0.25, 0.5)
    base_r = u(0.1, 0.18) if floor else u(0.06, 0.12)
    parts: Parts = [
        tube((0, 0, 0), (0, 0.025, 0), base_r)
        if r.random() < 0.7
        else box((0, 0.0125, 0), (2 * base_r, 0.025, 2 * base_r))
    ]
    if r.random() < 0.3:
        elbow = np.array([u(0.1, 0.3), pole, 0])
        head = elbow + [u(0.15, 0.3), u(-0.1, 0.15), 0]
        parts += [tube((0, 0, 0), elbow, 0.01), tube(elbow, head, 0.01)]
        parts.append(Lathe([(0.012, 0), (u(0.06, 0.1), -u(0.08, 0.14))], head))
        return parts
    shade_h = u(0.15, 0.3) * (1.4 if floor else 1.0)
    bottom, top = shade_h * u(0.6, 1.0), shade_h * u(0.3, 0.6)
    parts.append(tube((0, 0, 0), (0, pole, 0), u(0.008, 0.015)))
    parts.append(Lathe([(bottom, 0), (top, shade_h)], (0, pole - shade_h * 0.4, 0)))
    parts.append(sphere((0, pole - shade_h * 0.1, 0), top * 0.5))
    return parts


def cone(r: np.random.Generator) -> Parts:
    u = r.uniform
    radius, h = u(0.1, 0.25), u(0.3, 0.7)
    tip = radius * u(0.0, 0.15)
    parts: Parts = [Lathe([(0, 0), (radius, 0), (tip, h), (0, h)])]
    if r.random() < 0.4:
        parts.append(box((0, -0.015, 0), (radius * 2.3, 0.03, radius * 2.3)))
    return parts


def tent(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d, h = u(1.5, 2.5), u(1.8, 2.8), u(1.0, 1.6)
    kind = r.random()
    if kind < 0.45:
        parts = prism([(-w / 2, 0), (w / 2, 0), (0, h)], d)
        parts += [tube((0, h, sz * d / 2), (0, h + 0.15, sz * d / 2), 0.015) for sz in (-1, 1)]
        return parts
    if kind < 0.75:
        angles = np.linspace(0, np.pi / 2, 10)
        return [Lathe([(w / 2 * np.cos(a), h * np.sin(a)) for a in angles])]
    base = np.array(
        [(-w / 2, 0, -w / 2), (w / 2, 0, -w / 2), (w / 2, 0, w / 2), (-w / 2, 0, w / 2)]
    )
    return [
        loft(base, np.full((4, 3), (0, h * 1.2, 0)) + 1e-3 * base),
        box((0, h * 1.2 + 0.1, 0), (0.03, 0.2, 0.03)),
    ]


def glass_box(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d = u(0.4, 1.0), u(0.4, 1.2), u(0.4, 1.0)
    stand = u(0.3, 0.8) if r.random() < 0.35 else 0.0
    t = u(0.015, 0.04)
    parts: Parts = [box((0, stand + h / 2, 0), (w, h, d))]
    edges: list[tuple[Vec, Vec]] = [
        ((0, stand + y, sz * d / 2), (w, t, t)) for y in (0, h) for sz in (-1, 1)
    ]
    edges += [((sx * w / 2, stand + y, 0), (t, t, d)) for y in (0, h) for sx in (-1, 1)]
    edges += [
        ((sx * w / 2, stand + h / 2, sz * d / 2), (t, h, t)) for sx in (-1, 1) for sz in (-1, 1)
    ]
    centers, sizes = zip(*edges, strict=True)
    parts.append(boxes(centers, sizes))
    if stand:
        parts.append(box((0, stand / 2, 0), (w * 0.9, stand, d * 0.9)))
    if r.random() < 0.4:
        parts.append(box((0, stand + h * u(0.3, 0.6), 0), (w - 0.02, 0.01, d - 0.02)))
    return parts


def range_hood(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d, y0, hood = u(0.6, 1.0), u(0.45, 0.55), u(1.4, 1.6), u(0.15, 0.35)
    lip = u(0.04, 0.08)
    tw, td = w * u(0.25, 0.4), d * u(0.4, 0.6)
    bottom = np.array(
        [
            (-w / 2, y0 + lip, -d / 2),
            (w / 2, y0 + lip, -d / 2),
            (w / 2, y0 + lip, d / 2),
            (-w / 2, y0 + lip, d / 2),
        ]
    )
    top = np.array(
        [
            (-tw / 2, y0 + lip + hood, -d / 2),
            (tw / 2, y0 + lip + hood, -d / 2),
            (tw / 2, y0 + lip + hood, -d / 2 + td),
            (-tw / 2, y0 + lip + hood, -d / 2 + td),
        ]
    )
    chimney = u(0.3, 0.8)
    return [
        box((0, y0 + lip / 2, 0), (w, lip, d)),
        loft(bottom, top),
        box((0, y0 + lip + hood + chimney / 2, -d / 2 + td / 2), (tw, chimney, td)),
    ]
