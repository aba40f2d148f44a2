"""HTML pieces every page of the site shares: escaped text and an inline chart figure."""

from __future__ import annotations

import html

from leaderboard.charts import Chart


def escape(text: str) -> str:
    """Text safe inside HTML elements and attribute values."""
    return html.escape(text, quote=True)


def figure(chart: Chart) -> str:
    """The chart's inline SVG with its caption and a link to its PNG."""
    return (
        f'<figure id="chart-{escape(chart.name)}">{chart.svg}'
        f'<figcaption>{escape(chart.title)} (<a href="charts/{escape(chart.name)}.png">PNG</a>)'
        "</figcaption></figure>"
    )
