"""A picture of a dataset split: one small 3D scatter per class, to check shapes by eye.

The picture's format follows the file name (.png, .pdf or .svg), checked before any data is
loaded, so a name matplotlib cannot write is one sentence rather than a failure after the draw.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from bench.contracts.cloudset import CloudSet
from bench.contracts.errors import UsageError, clipped
from bench.storage.atomic import write_bytes_atomic

FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}  # suffix -> matplotlib's format


def picture_format(out: Path) -> str:
    """The format `out` asks for by its suffix (any case); another suffix is one sentence."""
    chosen = FORMATS.get(out.suffix.lower())
    if chosen is None:
        given = f"'{clipped(out.suffix)}'" if out.suffix else "no suffix"
        raise UsageError(
            f"Cannot draw a gallery to {clipped(str(out))}: the name must end in"
            f" {', '.join(list(FORMATS)[:-1])} or {list(FORMATS)[-1]} (it has {given})."
        )
    return chosen


def draw_gallery(cloudset: CloudSet, out: Path, per_class: int = 1) -> None:
    """Save a grid with the first `per_class` clouds of every class, titled by class name, as
    PNG, PDF or SVG by the suffix of `out`.

    y is drawn as the vertical axis because the datasets are y-up, like ModelNet40 in ULIP.
    """
    chosen = picture_format(out)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = [
        (name, index)
        for label, name in enumerate(cloudset.class_names)
        for index in np.flatnonzero(cloudset.labels == label)[:per_class]
    ]
    cols = 8
    rows = max(1, math.ceil(len(picks) / cols))
    figure = plt.figure(figsize=(2.0 * cols, 2.1 * rows), dpi=90)
    for slot, (name, index) in enumerate(picks):
        ax = figure.add_subplot(rows, cols, slot + 1, projection="3d")
        x, y, z = cloudset.points[index, :, :3].T
        ax.scatter(x, y, z, s=0.8, c=y, cmap="viridis", depthshade=False, linewidths=0)
        ax.view_init(elev=20, azim=30, vertical_axis="y")
        ax.set_box_aspect((1, 1, 1), zoom=1.3)
        for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setter(-1, 1)
        ax.set_axis_off()
        ax.set_title(name, fontsize=9, pad=-4)
    figure.subplots_adjust(left=0, right=1, bottom=0, top=0.97, wspace=0, hspace=0.05)
    picture = io.BytesIO()
    figure.savefig(picture, format=chosen)
    plt.close(figure)
    write_bytes_atomic(out, picture.getvalue())  # never half a picture, even on a full disk
