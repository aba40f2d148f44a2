"""The terminal table of `bench results` and `bench run`: every line fits in 100 columns.

The long Markdown table (`leaderboard.tables.to_markdown`, `bench results --wide`) has a
column per label and metric, over 250 characters wide, and wraps into noise in a terminal.
This one keeps what a reader compares: the victim, data, protocol and attack (with its
configuration), clean and robust accuracy with their 95% intervals, numbered flags whose
sentences follow the table, and the start of the cell hash that `bench compare` takes. A
value every row shares is said once above the table instead of in a column, and a long
label wraps within its column. Pure function of table rows; no torch here.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

WIDTH = 100
GAP = "  "
MIN_WIDTH = 8  # a wrapped column is never narrower than this
# Columns that wrap when the table is too wide, and that move above it when every row agrees.
LABELS = (("victim", "method"), ("dataset", "data"), ("protocol", "protocol"), ("attack", "attack"))
NUMBERS = (("clean", "clean (%)"), ("robust", "robust (%)"), ("flags", "flags"), ("cell", "cell"))
HASH = 8  # characters of the cell hash shown: enough for `bench compare`, which takes prefixes
VICTIM_DETAILS = (("teacher", "teacher"), ("corpus", "trained on"), ("seed", "seed"))


def to_compact(table: Sequence[dict[str, Any]], width: int = WIDTH) -> str:
    """`table`: rows of `leaderboard.tables.rows`. No line of the result exceeds `width`."""
    cells, notes = _cells(table)
    shared = [
        (key, header)
        for key, header in LABELS
        if len(cells) > 1 and len({row[key] for row in cells}) == 1
    ]
    known = [(key, header) for key, header in shared if cells[0][key] != "–"]
    above = [
        line
        for key, header in known  # an unknown protocol shared by all goes unsaid
        for line in textwrap.wrap(f"{header}: {cells[0][key]}", width, subsequent_indent="  ")
    ]
    columns = [c for c in LABELS if c not in shared] + list(NUMBERS)
    widths = _fit(cells, columns, width)
    lines = [*above, *([""] if above else [])]
    lines.append(GAP.join(h.ljust(w) for (_, h), w in zip(columns, widths, strict=True)).rstrip())
    lines.append(GAP.join("-" * w for w in widths))
    for row in cells:
        wrapped = [_wrap(str(row[key]), w) for (key, _), w in zip(columns, widths, strict=True)]
        for k in range(max(len(parts) for parts in wrapped)):
            texts = [parts[k] if k < len(parts) else "" for parts in wrapped]
            lines.append(GAP.join(t.ljust(w) for t, w in zip(texts, widths, strict=True)).rstrip())
    if notes:
        lines.append("")
    for number, note in enumerate(notes, 1):
        lines += textwrap.wrap(f"[{number}] {note}", width, subsequent_indent="    ")
    return "\n".join(lines)


def _cells(table: Sequence[dict[str, Any]]) -> tuple[list[dict[str, str]], list[str]]:
    """Each row's texts, and the notes they point to, numbered by the notes that exist."""
    varying = [
        (key, name) for key, name in VICTIM_DETAILS if len({str(r.get(key)) for r in table}) > 1
    ]
    cells, notes = [], []
    for row in table:
        victim = str(row.get("method"))
        if row.get("defense") not in (None, "none"):
            victim += f" + {row['defense']}"
        if varying:
            victim += " (" + ", ".join(f"{name} {row.get(key)}" for key, name in varying) + ")"
        said = [row["status"]] if row.get("status", "ok") != "ok" else []
        said += [row["warnings"]] if row.get("warnings") else []
        if said:
            notes.append("; ".join(said))
        failed = str(row.get("status", "")).startswith("failed")
        cells.append(
            {
                "victim": victim,
                "dataset": str(row.get("dataset")),
                "protocol": str(row.get("protocol") or "–"),
                "attack": str(row.get("attack_config") or row.get("attack")),
                "clean": _accuracy(row, "clean_acc"),
                "robust": "failed" if failed else _accuracy(row, "robust_acc"),
                "flags": f"[{len(notes)}]" if said else "",
                "cell": str(row.get("cell_hash", ""))[:HASH],
            }
        )
    return cells, notes


def _accuracy(row: dict[str, Any], key: str) -> str:
    """ "62.5 [58.1, 66.7]" in percent, "–" for no value."""
    value = row.get(key)
    if value is None:
        return "–"
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    interval = "" if low is None or high is None else f" [{100 * low:.1f}, {100 * high:.1f}]"
    return f"{100 * value:.1f}{interval}"


def _fit(cells: list[dict[str, str]], columns: list[tuple[str, str]], width: int) -> list[int]:
    """Column widths: each as wide as its widest text, the widest label column narrowed one
    character at a time until the line fits (numbers never wrap)."""
    widths = [max([len(h)] + [len(row[key]) for row in cells]) for key, h in columns]
    wrappable = [i for i, column in enumerate(columns) if column in LABELS]
    while sum(widths) + len(GAP) * (len(widths) - 1) > width:
        widest = max(wrappable, key=lambda i: widths[i], default=None)
        if widest is None or widths[widest] <= MIN_WIDTH:
            break  # only numbers are left: they fit any terminal of 100 columns
        widths[widest] -= 1
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """At spaces where it can, inside a word where it must; an empty cell is one blank line."""
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]
