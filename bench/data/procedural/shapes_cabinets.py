"""Generators for the cabinet-like and architectural classes of procedural40.

Bookshelves, dressers, night stands, wardrobes and tv stands share one carcass builder but differ
in proportions, fronts and open compartments; doors, stairs, mantels and curtains complete the set.
Units are roughly metres, y up, front towards +z.
"""

from __future__ import annotations

import numpy as np

from bench.data.procedural.primitives import Surface, Triangles, box, boxes, sphere, tube
from bench.data.procedural.shapes_furniture import drawer_fronts

Parts = list[Surface]


def carcass(
    w: float, h: float, d: float, y0: float = 0.0, t: float = 0.02, shelves: int = 0
) -> Parts:
    """An open-fronted cabinet: two sides, top, bottom, back and `shelves` evenly spaced shelves."""
    ys = [y0 + t / 2, y0 + h - t / 2, *np.linspace(y0, y0 + h, shelves + 2)[1:-1]]
    return [
        boxes([(sx * (w / 2 - t / 2), y0 + h / 2, 0) for sx in (-1, 1)], (t, h, d)),
        boxes([(0, y, 0) for y in ys], (w - 2 * t, t, d - t)),
        box((0, y0 + h / 2, -d / 2 + t / 2), (w - 2 * t, h, t)),
    ]


def bookshelf(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d = u(0.6, 1.3), u(1.1, 2.0), u(0.25, 0.38)
    shelves = int(r.integers(2, 6))
    parts = carcass(w, h, d, shelves=shelves)
    levels = np.linspace(0, h, shelves + 2)[:-1]
    books = []
    for y in levels:
        if r.random() < 0.5:
            continue
        x, end = -w / 2 + 0.03, -w / 2 + 0.03 + (w - 0.06) * u(0.3, 1.0)
        gap = levels[1] - levels[0]
        while x < end:
            bw, bh = u(0.02, 0.05), min(gap - 0.04, u(0.18, 0.3))
            books.append(((x + bw / 2, y + 0.02 + bh / 2, 0), (bw, bh, d * 0.8)))
            x += bw + 0.003
    if books:
        centers, sizes = zip(*books, strict=True)
        parts.append(boxes(centers, sizes))
    return parts


def dresser(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d, foot = u(0.9, 1.7), u(0.7, 1.1), u(0.42, 0.55), u(0.04, 0.12)
    parts: Parts = [box((0, foot + h / 2, 0), (w, h, d))]
    parts.append(
        boxes(
            [
                (sx * (w / 2 - 0.04), foot / 2, sz * (d / 2 - 0.04))
                for sx in (-1, 1)
                for sz in (-1, 1)
            ],
            (0.05, foot, 0.05),
        )
    )
    parts += drawer_fronts(
        int(r.integers(3, 6)),
        int(r.integers(1, 4)),
        -w / 2 + 0.03,
        w / 2 - 0.03,
        foot + 0.03,
        foot + h - 0.03,
        d / 2,
    )
    if r.random() < 0.3:
        mh = u(0.5, 0.9)
        parts.append(box((0, foot + h + mh / 2, -d / 2 + 0.03), (w * u(0.6, 0.9), mh, 0.03)))
    return parts


def night_stand(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d, foot = u(0.38, 0.6), u(0.4, 0.6), u(0.35, 0.48), u(0.05, 0.2)
    parts = carcass(w, h, d, y0=foot)
    legs = [
        (sx * (w / 2 - 0.02), foot / 2, sz * (d / 2 - 0.02)) for sx in (-1, 1) for sz in (-1, 1)
    ]
    parts.append(boxes(legs, (0.035, foot, 0.035)))
    drawers = int(r.integers(1, 3))
    covered = h if r.random() < 0.4 else h * u(0.3, 0.5) * drawers
    parts += drawer_fronts(
        drawers, 1, -w / 2 + 0.02, w / 2 - 0.02, foot + h - covered, foot + h - 0.02, d / 2
    )
    return parts


def wardrobe(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d, base = u(0.8, 1.7), u(1.8, 2.25), u(0.5, 0.65), u(0.05, 0.12)
    doors = int(r.integers(2, 4))
    parts: Parts = [
        box((0, base + h / 2, 0), (w, h, d)),
        box((0, base / 2, 0), (w - 0.04, base, d - 0.04)),
    ]
    parts.append(box((0, base + h + 0.03, 0), (w + 0.06, 0.06, d + 0.04)))
    low = base + (u(0.3, 0.5) if r.random() < 0.3 else 0.02)
    if low > base + 0.1:
        parts += drawer_fronts(1, 2, -w / 2 + 0.02, w / 2 - 0.02, base + 0.02, low - 0.01, d / 2)
    dw = (w - 0.04) / doors
    xs = [-w / 2 + 0.02 + (i + 0.5) * dw for i in range(doors)]
    parts.append(
        boxes(
            [(x, (low + base + h) / 2, d / 2 + 0.01) for x in xs],
            (dw - 0.01, base + h - low - 0.02, 0.02),
        )
    )
    handle_y = low + (base + h - low) / 2
    parts.append(
        boxes(
            [
                (x + (dw / 2 - 0.06) * (1 if i % 2 == 0 else -1), handle_y, d / 2 + 0.04)
                for i, x in enumerate(xs)
            ],
            (0.02, 0.25, 0.025),
        )
    )
    return parts


def tv_stand(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d, foot = u(1.2, 2.1), u(0.35, 0.6), u(0.38, 0.5), u(0.03, 0.12)
    parts = carcass(w, h, d, y0=foot, t=0.03, shelves=int(r.integers(0, 2)))
    columns = int(r.integers(2, 5))
    xs = np.linspace(-w / 2, w / 2, columns + 1)[1:-1]
    if len(xs):
        parts.append(boxes([(x, foot + h / 2, 0) for x in xs], (0.025, h - 0.04, d - 0.03)))
    edges = np.linspace(-w / 2, w / 2, columns + 1)
    for i in range(columns):
        if r.random() < 0.35:
            parts.append(
                box(
                    ((edges[i] + edges[i + 1]) / 2, foot + h / 2, d / 2),
                    (edges[i + 1] - edges[i] - 0.02, h - 0.05, 0.02),
                )
            )
    parts.append(
        boxes(
            [
                (sx * (w / 2 - 0.05), foot / 2, sz * (d / 2 - 0.05))
                for sx in (-1, 1)
                for sz in (-1, 1)
            ],
            (0.05, foot, 0.05),
        )
    )
    return parts


def door(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, t = u(0.75, 1.0), u(1.95, 2.15), u(0.035, 0.06)
    parts: Parts = [box((0, h / 2, 0), (w, h, t))]
    if r.random() < 0.6:
        rows, cols = int(r.integers(1, 4)), int(r.choice([1, 2]))
        pw, ph = (w - 0.2) / cols, (h - 0.3) / rows
        centers = [
            (-w / 2 + 0.1 + (i + 0.5) * pw, 0.15 + (j + 0.5) * ph, sz * t / 2)
            for i in range(cols)
            for j in range(rows)
            for sz in (-1, 1)
        ]
        parts.append(boxes(centers, (pw - 0.08, ph - 0.08, 0.02)))
    knob_x = w / 2 - u(0.06, 0.1)
    for sz in (-1, 1):
        parts.append(sphere((knob_x, u(0.95, 1.05), sz * (t / 2 + 0.05)), 0.03))
        parts.append(tube((knob_x, 1.0, 0), (knob_x, 1.0, sz * (t / 2 + 0.04)), 0.008))
    if r.random() < 0.6:
        parts.append(
            boxes(
                [(sx * (w / 2 + 0.04), h / 2 + 0.02, 0) for sx in (-1, 1)] + [(0, h + 0.04, 0)],
                [(0.08, h + 0.08, 0.12)] * 2 + [(w + 0.16, 0.08, 0.12)],
            )
        )
    return parts


def stairs(r: np.random.Generator) -> Parts:
    u = r.uniform
    steps, rise, run, w = int(r.integers(4, 11)), u(0.15, 0.2), u(0.25, 0.32), u(0.8, 1.3)
    solid = r.random() < 0.5
    treads = []
    for i in range(steps):
        top, z = (i + 1) * rise, -i * run
        treads.append(
            ((0, top / 2, z), (w, top, run)) if solid else ((0, top - 0.02, z), (w, 0.04, run))
        )
    centers, sizes = zip(*treads, strict=True)
    parts: Parts = [boxes(centers, sizes)]
    if not solid:
        corners = np.array(
            [[0, 0, run / 2], [0, rise, run / 2], [0, steps * rise, -(steps - 1) * run - run / 2]]
        )
        parts += [Triangles([corners + [sx * w / 2, 0, 0]]) for sx in (-1, 1)]
    sides = [sx for sx in (-1, 1) if r.random() < 0.5]
    for sx in sides:
        x = sx * (w / 2 - 0.03)
        posts = [(x, (i + 1) * rise, -i * run) for i in range(0, steps, 2)]
        for px, py, pz in posts:
            parts.append(tube((px, py, pz), (px, py + 0.9, pz), 0.02))
        parts.append(tube((x, rise + 0.9, 0), (x, steps * rise + 0.9, -(steps - 1) * run), 0.025))
    return parts


def mantel(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d = u(1.2, 1.9), u(1.0, 1.35), u(0.2, 0.4)
    pillar, lintel = u(0.15, 0.3), u(0.15, 0.3)
    opening_w, opening_h = w - 2 * pillar, h - lintel
    parts: Parts = [
        boxes(
            [(sx * (w / 2 - pillar / 2), opening_h / 2, 0) for sx in (-1, 1)],
            (pillar, opening_h, d),
        )
    ]
    parts.append(box((0, opening_h + lintel / 2, 0), (w, lintel, d)))
    parts.append(box((0, h + 0.03, 0.02), (w + u(0.1, 0.3), 0.06, d + 0.1)))
    parts.append(box((0, opening_h / 2, -d / 2 - 0.3), (opening_w, opening_h, 0.02)))
    parts.append(
        boxes(
            [(sx * opening_w / 2, opening_h / 2, -d / 2 - 0.15) for sx in (-1, 1)],
            (0.02, opening_h, 0.3),
        )
    )
    if r.random() < 0.6:
        parts.append(box((0, 0.03, d / 2 + 0.15), (w * u(0.8, 1.1), 0.06, 0.3)))
    return parts


def curtain(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h = u(1.2, 2.4), u(1.7, 2.4)
    panels = int(r.choice([1, 2]))
    fold, depth = u(0.12, 0.25), u(0.03, 0.07)
    gap = u(0.0, 0.5) * w if panels == 2 else 0.0
    pw = (w - gap) / panels
    parts: Parts = []
    for p in range(panels):
        x0 = -w / 2 + p * (pw + gap)
        xs, ys = np.linspace(x0, x0 + pw, 48), np.linspace(0, h, 12)
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        phase = u(0, 2 * np.pi)
        gz = depth * np.sin(2 * np.pi * gx / fold + phase) * (1 + 0.5 * gy / h)
        grid = np.stack([gx, gy, gz], axis=-1)
        a, b, c, e = grid[:-1, :-1], grid[1:, :-1], grid[1:, 1:], grid[:-1, 1:]
        tris = np.concatenate([np.stack([a, b, c], -2), np.stack([a, c, e], -2)]).reshape(-1, 3, 3)
        parts.append(Triangles(tris))
    parts.append(tube((-w / 2 - 0.1, h + 0.05, 0), (w / 2 + 0.1, h + 0.05, 0), 0.015))
    parts += [sphere((sx * (w / 2 + 0.12), h + 0.05, 0), 0.035) for sx in (-1, 1)]
    return parts
