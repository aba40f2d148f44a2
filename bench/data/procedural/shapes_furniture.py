"""Generators for the furniture classes of procedural40 (chairs, tables, cabinets, beds, ...).

Each generator draws its own proportions, part counts and optional parts from `r`, so samples of
one class vary the way ModelNet40 models do. Units are roughly metres, y up, front towards +z.
"""

from __future__ import annotations

import numpy as np

from bench.data.procedural.primitives import (
    Ellipsoid,
    Surface,
    Torus,
    box,
    boxes,
    rotation,
    tube,
)

Parts = list[Surface]


def legs(
    r: np.random.Generator, w: float, d: float, top: float, thick: float, splay: float = 0.0
) -> Parts:
    """Four legs under a w x d rectangle reaching height `top`, square or round at random."""
    x, z = w / 2 - thick, d / 2 - thick
    corners = [(sx * x, sz * z) for sx in (-1, 1) for sz in (-1, 1)]
    if splay == 0.0 and r.random() < 0.5:
        return [boxes([(cx, top / 2, cz) for cx, cz in corners], (thick, top, thick))]
    return [
        tube((cx * (1 + splay), 0, cz * (1 + splay)), (cx, top, cz), thick / 2)
        for cx, cz in corners
    ]


def drawer_fronts(
    rows: int, cols: int, x0: float, x1: float, y0: float, y1: float, z: float
) -> Parts:
    """A grid of slightly proud drawer fronts on the plane `z`, each with a small pull."""
    gap = 0.015
    w, h = (x1 - x0) / cols, (y1 - y0) / rows
    centers = [
        (x0 + (i + 0.5) * w, y0 + (j + 0.5) * h, z + 0.01) for i in range(cols) for j in range(rows)
    ]
    pulls = [(cx, cy + h * 0.15, z + 0.03) for cx, cy, _ in centers]
    return [
        boxes(centers, (w - gap, h - gap, 0.02)),
        boxes(pulls, (min(0.12, w * 0.4), 0.02, 0.03)),
    ]


def chair(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d, seat, t = u(0.4, 0.55), u(0.4, 0.55), u(0.42, 0.5), u(0.03, 0.07)
    back = u(0.35, 0.6)
    parts = [
        box((0, seat - t / 2, 0), (w, t, d)),
        *legs(r, w, d, seat - t, u(0.03, 0.05), u(0, 0.15)),
    ]
    if r.random() < 0.6:
        parts.append(
            box((0, seat + back / 2, -d / 2 + 0.02), (w, back, 0.04), rotation("x", -u(0, 0.2)))
        )
    else:
        slats = int(r.integers(2, 6))
        xs = np.linspace(-w / 2 + 0.03, w / 2 - 0.03, slats + 2)
        parts.append(boxes([(x, seat + back / 2, -d / 2 + 0.02) for x in xs], (0.035, back, 0.035)))
        parts.append(box((0, seat + back - 0.03, -d / 2 + 0.02), (w, 0.06, 0.04)))
    if r.random() < 0.35:
        arm = seat + u(0.18, 0.26)
        for sx in (-1, 1):
            parts.append(
                tube((sx * w / 2, seat, d / 2 - 0.05), (sx * w / 2, arm, d / 2 - 0.05), 0.02)
            )
            parts.append(box((sx * w / 2, arm, 0), (0.05, 0.03, d)))
    return parts


def table(r: np.random.Generator) -> Parts:
    u = r.uniform
    h, t = u(0.68, 0.78), u(0.03, 0.06)
    if r.random() < 0.3:
        radius = u(0.45, 0.75)
        parts: Parts = [tube((0, h - t, 0), (0, h, 0), radius)]
        parts.append(tube((0, 0.03, 0), (0, h - t, 0), u(0.04, 0.08)))
        parts.append(tube((0, 0, 0), (0, 0.03, 0), radius * u(0.4, 0.6)))
        return parts
    w, d = u(1.0, 1.9), u(0.6, 1.0)
    parts = [box((0, h - t / 2, 0), (w, t, d)), *legs(r, w, d, h - t, u(0.04, 0.08))]
    if r.random() < 0.5:
        parts.append(
            boxes(
                [(0, h - t - 0.05, d / 2 - 0.05), (0, h - t - 0.05, -d / 2 + 0.05)],
                (w - 0.1, 0.1, 0.02),
            )
        )
    if r.random() < 0.25:
        parts.append(box((0, u(0.12, 0.25), 0), (w - 0.12, 0.02, d - 0.12)))
    return parts


def desk(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d, h, t = u(1.1, 1.6), u(0.55, 0.75), u(0.72, 0.77), 0.03
    pw = u(0.35, 0.45)
    parts: Parts = [box((0, h - t / 2, 0), (w, t, d))]
    sides = [-1, 1] if r.random() < 0.4 else [int(r.choice([-1, 1]))]
    for sx in sides:
        cx = sx * (w / 2 - pw / 2)
        parts.append(box((cx, (h - t) / 2, 0), (pw, h - t, d - 0.04)))
        parts += drawer_fronts(
            int(r.integers(2, 5)), 1, cx - pw / 2, cx + pw / 2, 0.05, h - t - 0.02, d / 2 - 0.02
        )
    if len(sides) == 1:
        ox = -sides[0] * (w / 2 - 0.03)
        parts.append(box((ox, (h - t) / 2, 0), (0.04, h - t, d - 0.04)))
    parts.append(box((0, h * 0.6, -d / 2 + 0.03), (w - 0.1, h * 0.5, 0.02)))
    if r.random() < 0.3:
        hh = u(0.3, 0.6)
        parts.append(box((0, h + hh / 2, -d / 2 + 0.05), (w, hh, 0.02)))
        parts.append(box((0, h + hh, -d / 2 + 0.14), (w, 0.02, 0.26)))
    return parts


def bench(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d, h, t = u(1.2, 2.0), u(0.3, 0.45), u(0.4, 0.47), u(0.04, 0.08)
    parts: Parts = [box((0, h - t / 2, 0), (w, t, d))]
    if r.random() < 0.5:
        parts.append(
            boxes([(sx * (w / 2 - 0.1), (h - t) / 2, 0) for sx in (-1, 1)], (0.05, h - t, d))
        )
    else:
        parts += legs(r, w, d, h - t, u(0.04, 0.06))
    if r.random() < 0.4:
        back = u(0.3, 0.45)
        slats = [
            (0, h + back * f, -d / 2 + 0.02) for f in np.linspace(0.3, 1.0, int(r.integers(2, 4)))
        ]
        parts.append(boxes(slats, (w, 0.07, 0.03)))
        parts.append(
            boxes(
                [(sx * (w / 2 - 0.1), h + back / 2, -d / 2) for sx in (-1, 1)], (0.05, back, 0.04)
            )
        )
    return parts


def stool(r: np.random.Generator) -> Parts:
    u = r.uniform
    h, t, radius = u(0.45, 0.8), u(0.03, 0.06), u(0.15, 0.22)
    parts: Parts = [tube((0, h - t, 0), (0, h, 0), radius)]
    count = int(r.choice([3, 4]))
    spread, angle0 = radius * u(1.0, 1.4), u(0, np.pi / 2)
    feet = []
    for k in range(count):
        a = angle0 + 2 * np.pi * k / count
        top = (0.7 * radius * np.cos(a), h - t, 0.7 * radius * np.sin(a))
        feet.append((spread * np.cos(a), 0, spread * np.sin(a)))
        parts.append(tube(feet[-1], top, u(0.015, 0.025)))
    if h > 0.6 and r.random() < 0.7:
        parts.append(Torus((0, h * 0.33, 0), spread * 0.85, 0.012))
    return parts


def sofa(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d = u(1.4, 2.4), u(0.8, 0.95)
    base, seat_t, arm_h, back_h = u(0.2, 0.3), u(0.12, 0.18), u(0.55, 0.68), u(0.75, 0.95)
    arm_w = u(0.1, 0.25)
    inner = w - 2 * arm_w
    cushions = int(r.integers(1, 4))
    cw = inner / cushions
    parts: Parts = [box((0, 0.05 + base / 2, 0), (w, base, d))]
    parts.append(
        boxes(
            [(-inner / 2 + (i + 0.5) * cw, 0.05 + base + seat_t / 2, 0.1) for i in range(cushions)],
            (cw - 0.01, seat_t, d - 0.2),
        )
    )
    parts.append(box((0, 0.05 + back_h / 2, -d / 2 + 0.1), (w, back_h, 0.2)))
    parts.append(
        boxes(
            [(sx * (w / 2 - arm_w / 2), 0.05 + arm_h / 2, 0) for sx in (-1, 1)], (arm_w, arm_h, d)
        )
    )
    parts.append(
        boxes(
            [(sx * (w / 2 - 0.05), 0.025, sz * (d / 2 - 0.05)) for sx in (-1, 1) for sz in (-1, 1)],
            0.05,
        )
    )
    if r.random() < 0.25:
        side = float(r.choice([-1, 1]))
        parts.append(box((side * (w / 2 - 0.35), 0.05 + base / 2, d / 2 + 0.4), (0.7, base, 0.8)))
    return parts


def bed(r: np.random.Generator) -> Parts:
    u = r.uniform
    length, w = u(1.9, 2.15), float(r.choice([u(0.9, 1.1), u(1.35, 1.9)]))
    frame, mattress = u(0.2, 0.35), u(0.15, 0.25)
    head = u(0.85, 1.25)
    parts: Parts = [box((0, 0.1 + frame / 2, 0), (w, frame, length))]
    parts.append(box((0, 0.1 + frame + mattress / 2, 0.02), (w - 0.04, mattress, length - 0.04)))
    parts.append(box((0, head / 2, -length / 2 - 0.03), (w + 0.06, head, 0.06)))
    if r.random() < 0.5:
        parts.append(box((0, u(0.4, 0.6) / 2, length / 2 + 0.03), (w + 0.06, 0.5, 0.06)))
    top = 0.1 + frame + mattress
    pillows = 1 if w < 1.2 else int(r.integers(1, 3))
    for i in range(pillows):
        x = (i - (pillows - 1) / 2) * w / pillows
        parts.append(
            Ellipsoid((x, top + 0.05, -length / 2 + 0.25), (w / pillows * 0.38, 0.07, 0.18))
        )
    parts.append(
        boxes(
            [
                (sx * (w / 2 - 0.04), 0.05, sz * (length / 2 - 0.04))
                for sx in (-1, 1)
                for sz in (-1, 1)
            ],
            (0.06, 0.1, 0.06),
        )
    )
    return parts
