"""HTML pieces every page of the site shares: escaped text, number cells, flags and an inline
chart figure."""

from __future__ import annotations

import html
from collections.abc import Sequence

from leaderboard.charts import Chart


def escape(text: str) -> str:
    """Text safe inside HTML elements and attribute values."""
    return html.escape(text, quote=True)


def flag(marks: str, warnings: Sequence[str]) -> str:
    """The ⚑ mark with its indicator letters (or count), the warnings' sentences on hover."""
    return f'<span class="flag" title="{escape("; ".join(warnings))}">⚑ {escape(marks)}</span>'


def figure(chart: Chart) -> str:
    """The chart's inline SVG with its caption and a link to its PNG."""
    return (
        f'<figure id="chart-{escape(chart.name)}">{chart.svg}'
        f'<figcaption>{escape(chart.title)} (<a href="charts/{escape(chart.name)}.png">PNG</a>)'
        "</figcaption></figure>"
    )


def accuracy_cell(value: float, interval: tuple[float, float]) -> str:
    """A table cell: the percentage, sortable by its value, and its interval, smaller."""
    return (
        f'<td class="num" data-value="{100 * value:.4f}">{100 * value:.1f}'
        f' <span class="ci">[{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]</span></td>'
    )


def number_cell(text: str, value: object) -> str:
    """A right-aligned table cell whose sort key is `value`."""
    return f'<td class="num" data-value="{escape(str(value))}">{text}</td>'
