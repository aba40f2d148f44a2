"""HTML pieces every page of the site shares: escaped text and an inline chart figure."""

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
