"""Writing helpers of the generated docs: numbers, lists, wrapped lines and Markdown tables."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

WIDTH = 100  # the docs' line length
LIST_MARKER = re.compile(r"([-+*]|\d+[.)])\s")  # a line starting so would begin a list
Setting = float | None  # an L-inf budget, or None for the clean cell


def pct(fraction: float) -> str:
    return f"{100 * fraction:.1f}"


def listing(items: Sequence[str]) -> str:
    """An English list: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def setting_name(setting: Setting) -> str:
    return "clean" if setting is None else f"eps {setting:g}"


def where(settings: Sequence[Setting]) -> str:
    """Where something holds, as prose: "clean and at eps 0.0025 and 0.005"."""
    parts = ["clean"] if None in settings else []
    budgets = [f"{s:g}" for s in settings if s is not None]
    if budgets:
        parts.append("at eps " + listing(budgets))
    return " and ".join(parts)


def seeds_text(seeds: Sequence[int]) -> str:
    return ("seed " if len(seeds) == 1 else "seeds ") + listing([str(s) for s in seeds])


def wrap(text: str, bullet: bool = False) -> str:
    """A paragraph (or a list item) wrapped to the docs' width, never starting a line with
    something Markdown would read as a list marker."""
    indent = "  " if bullet else ""
    lines = textwrap.wrap(
        ("- " if bullet else "") + text,
        WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    kept = lines[:1]
    for line in lines[1:]:
        if LIST_MARKER.match(line.strip()):
            kept[-1] += " " + line.strip()
        else:
            kept.append(line)
    return "\n".join(kept) + "\n"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"
