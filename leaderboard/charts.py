"""Leaderboard charts (matplotlib): SVG for the page, PNG for papers.

- robust accuracy against budget, one line per victim with its 95% interval as a band;
- robust accuracy against attack steps, one line per cell (the convergence curves: a curve
  still falling at its last step is an attack that stopped too early);
- clean against robust accuracy, one point per victim with both intervals (the trade-off);
- the cross-encoder transfer matrix as a heat map (source x target).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from leaderboard.tracks import Entry  # noqa: E402
from leaderboard.transfer import TransferMatrix  # noqa: E402

SIZE = (6.4, 4.0)
LINE_STYLES = ("-", "--", ":", "-.")


@dataclass(frozen=True)
class Chart:
    name: str  # file stem
    title: str
    svg: str  # inline-ready: no XML prologue
    png: bytes


@dataclass(frozen=True)
class BudgetPoint:
    budget: float
    entry: Entry


def budget_chart(name: str, title: str, lines: Mapping[str, Sequence[BudgetPoint]]) -> Chart:
    """Robust accuracy against budget: one line per victim label, its interval as a band."""
    figure, axes = plt.subplots(figsize=SIZE)
    for label, points in sorted(lines.items()):
        points = sorted(points, key=lambda p: p.budget)
        x = [p.budget for p in points]
        y = [100 * p.entry.robust_acc for p in points]
        low = [100 * p.entry.robust_ci[0] for p in points]
        high = [100 * p.entry.robust_ci[1] for p in points]
        (line,) = axes.plot(x, y, marker="o", label=label)
        axes.fill_between(x, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    axes.set_xlabel("budget (eps)")
    axes.set_ylabel("worst-case robust accuracy (%)")
    return _finish(figure, axes, name, title)


def convergence_chart(name: str, title: str, entries: Sequence[Entry]) -> Chart | None:
    """Robust accuracy after each attack step, per cell that recorded it; None if none did."""
    figure, axes = plt.subplots(figsize=SIZE)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles: dict[str, str] = {}  # one line style per attack, one colour per victim
    drawn = 0
    for index, entry in enumerate(entries):
        for record in entry.records:
            curve = record.measured.robust_acc_by_step
            if not curve:
                continue
            attack = record.labels["attack"]
            style = styles.setdefault(attack, LINE_STYLES[len(styles) % len(LINE_STYLES)])
            axes.plot(
                range(len(curve)),
                [100 * v for v in curve],
                color=colours[index % len(colours)],
                linestyle=style,
                label=f"{entry.label} · {attack}",
            )
            drawn += 1
    if not drawn:
        plt.close(figure)
        return None
    axes.set_xlabel("attack step")
    axes.set_ylabel("robust accuracy (%)")
    return _finish(figure, axes, name, title)


def tradeoff_chart(name: str, title: str, entries: Sequence[Entry]) -> Chart:
    """Clean against worst-case robust accuracy, one point per victim with both intervals."""
    figure, axes = plt.subplots(figsize=SIZE)
    for entry in entries:
        if entry.superseded:
            continue
        x, y = 100 * entry.clean_acc, 100 * entry.robust_acc
        clean_low, clean_high = (100 * v for v in entry.clean_ci)
        robust_low, robust_high = (100 * v for v in entry.robust_ci)
        axes.errorbar(
            x,
            y,
            xerr=[[x - clean_low], [clean_high - x]],
            yerr=[[y - robust_low], [robust_high - y]],
            fmt="o",
            capsize=3,
            label=entry.label,
        )
    axes.set_xlabel("clean accuracy (%)")
    axes.set_xlim(-2, 102)
    axes.set_ylabel("worst-case robust accuracy (%)")
    return _finish(figure, axes, name, title)


def _finish(figure: Figure, axes: plt.Axes, name: str, title: str) -> Chart:
    axes.set_title(title, fontsize=10)
    axes.set_ylim(-2, 102)
    axes.grid(alpha=0.3)
    # Below the axes, so that no number of lines hides the curves; the figure grows to fit.
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
    return _save(figure, name, title)


def _save(figure: Figure, name: str, title: str) -> Chart:
    """The figure as inline SVG and PNG, without dates (reproducible files); closed."""
    svg, png = io.StringIO(), io.BytesIO()
    tight: dict[str, Any] = {"bbox_inches": "tight", "pad_inches": 0.1}
    figure.savefig(svg, format="svg", metadata={"Date": None}, **tight)  # no date: reproducible
    figure.savefig(png, format="png", dpi=150, metadata={"Software": None}, **tight)
    plt.close(figure)
    inline = re.sub(r"^.*?(<svg\b)", r"\1", svg.getvalue(), flags=re.DOTALL)
    return Chart(name, title, inline, png.getvalue())


def transfer_chart(matrix: TransferMatrix) -> Chart:
    """A heat map of the transfer matrix: target rows, source columns, robust accuracy (%)."""
    targets, sources = matrix.targets, matrix.sources
    values = [[matrix.mean(t, s) for s in sources] for t in targets]
    grid = [[float("nan") if v is None else 100 * v for v in row] for row in values]
    figure, axes = plt.subplots(figsize=(1.6 + 1.1 * len(sources), 1.2 + 0.6 * len(targets)))
    image = axes.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for row, line in enumerate(grid):
        for column, value in enumerate(line):
            if value == value:  # not NaN: the pair was run
                colour = "white" if value < 50 else "black"
                axes.text(column, row, f"{value:.1f}", ha="center", va="center", color=colour)
    axes.set_xticks(range(len(sources)), sources, rotation=30, ha="right")
    axes.set_yticks(range(len(targets)), targets)
    axes.set_xlabel("crafted on (source)")
    axes.set_ylabel("evaluated (target)")
    figure.colorbar(image, ax=axes, label="robust accuracy (%)")
    axes.set_title(matrix.title, fontsize=9)
    return _save(figure, matrix.slug, matrix.title)
