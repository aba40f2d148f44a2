"""Generators for the vehicles, instruments, electronics and people of procedural40.

Units are roughly metres, y up; vehicles point along their length axis, screens face +z.
"""

from __future__ import annotations

import numpy as np

from bench.data.procedural.primitives import (
    Ellipsoid,
    Lathe,
    Surface,
    Torus,
    align_y,
    box,
    boxes,
    prism,
    rotation,
    sphere,
    tube,
)

Parts = list[Surface]
HANDLE_UP = rotation("x", -np.pi / 2)  # a torus arc standing upright in the x-y plane
LIFT = rotation("x", -np.pi / 2)  # prism polygons drawn in the x-(-z) plane, extruded along y


def key_grid(
    rows: int, cols: int, w: float, d: float, y: float, z: float = 0.0, height: float = 0.01
):
    """`rows` x `cols` keys on a w x d area centred at (0, y, z)."""
    pw, pd = w / cols, d / rows
    centers = [
        (-w / 2 + (i + 0.5) * pw, y + height / 2, z - d / 2 + (j + 0.5) * pd)
        for i in range(cols)
        for j in range(rows)
    ]
    return boxes(centers, (pw * 0.8, height, pd * 0.8))


def airplane(r: np.random.Generator) -> Parts:
    u = r.uniform
    length = u(2.5, 4.0)
    radius, span, chord = length * u(0.04, 0.07), length * u(0.7, 1.2), length * u(0.1, 0.18)
    sweep, t = u(0.0, 0.6), radius * 0.2
    profile = [
        (0, 0),
        (radius * 0.3, 0),
        (radius, length * 0.25),
        (radius, length * 0.8),
        (radius * 0.6, length * 0.94),
        (0, length),
    ]
    parts: Parts = [Lathe(profile, (0, 0, -length / 2), align_y((0, 0, 1)))]
    wing_y, wing_z = radius * float(r.choice([-0.5, 0.6])), length * u(-0.1, 0.1)
    tail_span = span * u(0.25, 0.4)
    for sx in (-1, 1):
        turn = rotation("y", sx * sweep)
        parts.append(box((sx * span / 4, wing_y, wing_z), (span / 2, t, chord), turn))
        parts.append(
            box(
                (sx * tail_span / 4, radius * 0.3, -length * 0.44),
                (tail_span / 2, t, chord * 0.6),
                turn,
            )
        )
    fin = length * u(0.1, 0.18)
    parts.append(
        box(
            (0, radius + fin / 2, -length * 0.42),
            (t, fin, chord * 0.8),
            rotation("x", -sweep * 0.7),
        )
    )
    engines = int(r.choice([0, 2, 2, 4]))
    for k in range(engines):
        x = (1 if k % 2 else -1) * span * (0.18 if k < 2 else 0.32)
        z = wing_z + chord * 0.4 - abs(x) * np.tan(sweep)
        parts.append(
            tube(
                (x, wing_y - radius * 0.6, z - length * 0.06),
                (x, wing_y - radius * 0.6, z + length * 0.06),
                radius * 0.35,
            )
        )
    return parts


def car(r: np.random.Generator) -> Parts:
    u = r.uniform
    length, w, wheel, body = u(3.8, 5.0), u(1.6, 1.9), u(0.3, 0.38), u(0.45, 0.7)
    clear = wheel * u(0.7, 1.0)
    cabin_h = u(0.4, 0.7)
    hood = length * u(0.2, 0.35)
    rear = length * u(0.0, 0.25)
    x0, x1 = -length / 2 + rear, length / 2 - hood
    top = clear + body
    parts: Parts = prism(
        [
            (-length / 2, clear),
            (length / 2, clear),
            (length / 2, top - 0.15),
            (length / 2 - 0.3, top),
            (-length / 2, top),
        ],
        w,
    )
    slope = u(0.3, 0.8)
    parts += prism(
        [
            (x0, top),
            (x1, top),
            (x1 - slope, top + cabin_h),
            (x0 + slope * u(0.1, 0.7), top + cabin_h),
        ],
        w * 0.88,
    )
    for sx in (-1, 1):
        for sz in (-1, 1):
            x = sx * (length / 2 - u(0.6, 0.9))
            parts.append(
                tube((x, wheel, sz * (w / 2 - 0.25)), (x, wheel, sz * (w / 2 + 0.04)), wheel)
            )
    return parts


def guitar(r: np.random.Generator) -> Parts:
    u = r.uniform
    low = u(0.17, 0.22)
    up, thick = low * u(0.7, 0.85), float(r.choice([u(0.08, 0.12), u(0.035, 0.05)]))
    neck = u(0.42, 0.55)
    y_up = 2 * low + up * u(0.3, 0.6)
    parts: Parts = [
        tube((0, low, -thick / 2), (0, low, thick / 2), low),
        tube((0, y_up, -thick / 2), (0, y_up, thick / 2), up),
    ]
    neck_top = y_up + up + neck
    parts.append(box((0, (y_up + neck_top) / 2, thick / 2 - 0.012), (0.05, neck_top - y_up, 0.025)))
    parts.append(
        box((0, neck_top + 0.09, thick / 2 - 0.02), (0.08, 0.18, 0.02), rotation("x", -0.2))
    )
    parts.append(box((0, low * 0.6, thick / 2 + 0.005), (low * 0.6, 0.03, 0.01)))
    return parts


def keyboard(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d, t = u(0.3, 0.48), u(0.12, 0.18), u(0.015, 0.03)
    parts: Parts = [box((0, t / 2, 0), (w, t, d), rotation("x", u(0.0, 0.08)))]
    parts.append(key_grid(int(r.integers(4, 7)), int(r.integers(12, 19)), w * 0.94, d * 0.85, t))
    if r.random() < 0.3:
        parts.append(box((0, t * 0.4, d / 2 + 0.04), (w * 0.9, t * 0.8, 0.07)))
    return parts


def laptop(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, d, t = u(0.3, 0.4), u(0.21, 0.28), u(0.012, 0.025)
    angle = u(np.radians(95), np.radians(135))
    direction = np.array([0, np.sin(angle), np.cos(angle)])
    hinge = np.array([0, t, -d / 2])
    parts: Parts = [box((0, t / 2, 0), (w, t, d))]
    parts.append(
        box(hinge + direction * d * 0.48, (w, d * 0.96, 0.008), rotation("x", np.pi / 2 - angle))
    )
    parts.append(key_grid(5, 13, w * 0.85, d * 0.4, t, -d * 0.12, 0.004))
    parts.append(box((0, t + 0.001, d * 0.3), (w * 0.3, 0.002, d * 0.25)))
    return parts


def monitor(r: np.random.Generator) -> Parts:
    u = r.uniform
    w = u(0.45, 0.75)
    h, t, lift = w * u(0.5, 0.7), u(0.015, 0.04), u(0.08, 0.2)
    center = lift + h / 2
    parts: Parts = [box((0, center, 0), (w, h, t))]
    if r.random() < 0.35:
        parts.append(box((0, center, -t / 2 - w * 0.15), (w * 0.7, h * 0.7, w * 0.3)))
    parts.append(box((0, center / 2, -t / 2 - 0.03), (0.06, center, 0.03)))
    parts.append(
        box((0, 0.01, -0.03), (w * u(0.3, 0.5), 0.02, u(0.15, 0.25)))
        if r.random() < 0.6
        else tube((0, 0, -0.03), (0, 0.02, -0.03), w * 0.2)
    )
    return parts


def limb(start: np.ndarray, end: np.ndarray, radius: float) -> Parts:
    return [tube(start, end, radius, radius * 0.85), sphere(end, radius * 0.85)]


def person(r: np.random.Generator) -> Parts:
    u = r.uniform
    s = u(0.9, 1.1)
    head, torso_w = u(0.095, 0.12) * s, u(0.16, 0.22) * s
    hip_y, shoulder_y = 0.92 * s, 1.42 * s
    parts: Parts = [
        sphere((0, 1.62 * s, 0), head),
        tube((0, shoulder_y, 0), (0, 1.55 * s, 0), 0.05 * s),
    ]
    parts.append(
        Ellipsoid(
            (0, (hip_y + shoulder_y) / 2 + 0.02, 0),
            (torso_w, (shoulder_y - hip_y) / 2 + 0.04, torso_w * 0.55),
        )
    )
    for sx in (-1, 1):
        shoulder = np.array([sx * (torso_w + 0.03), shoulder_y - 0.03 * s, 0])
        raise_, swing, bend = u(0.05, 1.4), u(-0.5, 0.5), u(0.0, 1.2)
        upper = np.array([sx * np.sin(raise_), -np.cos(raise_), 0]) @ rotation("x", swing).T
        elbow = shoulder + upper * 0.3 * s
        fore = upper @ rotation("x", -bend).T
        parts += limb(shoulder, elbow, 0.045 * s) + limb(elbow, elbow + fore * 0.27 * s, 0.038 * s)
        hip = np.array([sx * 0.1 * s, hip_y, 0])
        stride, knee_bend = u(-0.45, 0.45), u(0.0, 0.5)
        thigh = np.array([sx * u(0.0, 0.15), -1, 0]) @ rotation("x", -stride).T
        knee = hip + thigh * 0.45 * s
        ankle = knee + (thigh @ rotation("x", knee_bend).T) * 0.44 * s
        parts += limb(hip, knee, 0.07 * s) + limb(knee, ankle, 0.05 * s)
        parts.append(box(ankle + [0, -0.03, 0.06], (0.09 * s, 0.06, 0.24 * s)))
    return parts


def piano(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, key_y = u(1.35, 1.6), u(0.68, 0.76)
    parts: Parts = []
    if r.random() < 0.6:
        h, d = u(1.05, 1.35), u(0.28, 0.36)
        parts.append(box((0, h / 2, -d / 2), (w, h, d)))
        parts.append(
            boxes([(sx * (w / 2 - 0.04), key_y / 2, 0.15) for sx in (-1, 1)], (0.06, key_y, 0.06))
        )
        parts.append(box((0, key_y + 0.2, 0.02), (w * 0.85, 0.25, 0.03), rotation("x", -0.15)))
    else:
        length, h = u(1.5, 2.7), u(0.25, 0.35)
        outline = [
            (-w / 2, 0),
            (w / 2, 0),
            (w / 2, length * 0.4),
            (w * 0.05, length),
            (-w / 2, length),
        ]
        parts += prism(outline, h, key_y + h / 2 - 0.05, LIFT)
        for x, z in ((-w / 2 + 0.1, -0.1), (w / 2 - 0.1, -0.1), (-w / 2 + 0.1, -length + 0.15)):
            parts.append(tube((x, 0, z), (x, key_y - 0.05, z), 0.05))
        if r.random() < 0.7:
            hinged = [(x + w / 2, z) for x, z in outline]
            parts += prism(
                hinged, 0.02, 0, rotation("z", u(0.4, 0.7)) @ LIFT, (-w / 2, key_y + h - 0.05, 0)
            )
    parts.append(box((0, key_y - 0.02, 0.15), (w, 0.08, 0.3)))
    parts.append(key_grid(1, 52, w * 0.9, 0.14, key_y + 0.02, 0.2, 0.015))
    parts.append(key_grid(1, 36, w * 0.88, 0.08, key_y + 0.035, 0.15, 0.02))
    return parts


def radio(r: np.random.Generator) -> Parts:
    u = r.uniform
    w, h, d = u(0.25, 0.45), u(0.14, 0.28), u(0.07, 0.14)
    parts: Parts = [box((0, h / 2, 0), (w, h, d))]
    speakers = int(r.integers(1, 3))
    sr = min(h * 0.35, w / (2 * speakers) * 0.8)
    for k in range(speakers):
        x = (k - (speakers - 1) / 2) * w / speakers if speakers > 1 else -w * 0.2
        parts.append(tube((x, h * 0.45, d / 2), (x, h * 0.45, d / 2 + 0.01), sr))
    parts.append(
        boxes([(w * 0.3 + i * 0.03, h * 0.75, d / 2 + 0.01) for i in range(2)], (0.02, 0.02, 0.02))
    )
    parts.append(box((w * 0.25, h * 0.45, d / 2 + 0.003), (w * 0.3, h * 0.2, 0.006)))
    if r.random() < 0.5:
        parts.append(
            tube((w / 2 - 0.02, h, 0), (w / 2 - 0.02 + u(-0.2, 0.2), h + u(0.25, 0.45), 0), 0.005)
        )
    if r.random() < 0.5:
        parts.append(Torus((0, h, 0), w * 0.3, 0.012, HANDLE_UP, np.pi))
    return parts


def xbox(r: np.random.Generator) -> Parts:
    u = r.uniform
    long, short, d = u(0.26, 0.33), u(0.07, 0.1), u(0.24, 0.3)
    upright = r.random() < 0.5
    w, h = (short, long) if upright else (long, short)
    parts: Parts = [box((0, h / 2, 0), (w, h, d))]
    ring = min(w, h) * u(0.25, 0.4)
    if r.random() < 0.5:
        parts.append(tube((0, h, 0), (0, h + 0.01, 0), ring))
    else:
        parts.append(
            tube(
                (0, h * 0.7 if upright else h / 2, d / 2),
                (0, h * 0.7 if upright else h / 2, d / 2 + 0.01),
                ring * 0.6,
            )
        )
    slot = (0.005, h * 0.6, 0.02) if upright else (w * 0.6, 0.005, 0.02)
    parts.append(box((0 if upright else -w * 0.1, h * 0.4 if upright else h * 0.6, d / 2), slot))
    parts.append(
        boxes(
            [
                (sx * (w / 2 - 0.02), -0.005, sz * (d / 2 - 0.03))
                for sx in (-1, 1)
                for sz in (-1, 1)
            ],
            (0.03, 0.01, 0.03),
        )
    )
    return parts
