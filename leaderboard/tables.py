"""Result tables (Markdown, CSV, JSON) as pure functions of store records; no torch here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from typing import Any

from bench.store import Record

# (column key, header, format) in display order.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("method", "Method", "{}"),
    ("teacher", "Teacher", "{}"),
    ("dataset", "Dataset", "{}"),
    ("attack", "Attack", "{}"),
    ("defense", "Defense", "{}"),
    ("seed", "Seed", "{}"),
    ("n", "N", "{}"),
    ("clean_acc", "Clean acc (%)", "{:.1f}"),
    ("robust_acc", "Robust acc (%)", "{:.1f}"),
    ("attack_success_rate", "Attack success (%)", "{:.1f}"),
    ("linf_mean", "L∞ mean", "{:.4f}"),
    ("l2_mean", "L2 mean", "{:.3f}"),
    ("chamfer_mean", "Chamfer mean", "{:.2e}"),
    ("wall_s", "Time (s)", "{:.1f}"),
    ("status", "Status", "{}"),
)
PERCENT = {"clean_acc", "robust_acc", "attack_success_rate"}


def rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One flat row per record, numbers as numbers (fractions in [0, 1])."""
    table = []
    for record in records:
        row: dict[str, Any] = {**record.labels, "seed": record.cell.get("seed")}
        row.update({k: v for k, v in record.metrics.items() if not isinstance(v, list | dict)})
        row["warnings"] = "; ".join(record.metrics.get("warnings", []))
        row["status"] = record.status if record.status == "ok" else f"failed: {record.error}"
        row["cell_hash"] = record.cell_hash[:16]
        table.append(row)
    return sorted(table, key=lambda r: (r["method"], r["dataset"], r["attack"], r["seed"] or 0))


def to_markdown(table: Sequence[dict[str, Any]]) -> str:
    """A Markdown table; failed cells stay visible, warnings are listed under the table."""
    headers = [header for _, header, _ in COLUMNS]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    notes = []
    for index, row in enumerate(table, start=1):
        cells = [_format(row.get(key), key, fmt) for key, _, fmt in COLUMNS]
        if row.get("warnings"):
            cells[0] += f" [{index}]"
            notes.append(f"[{index}] {row['warnings']}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ([""] + notes if notes else []))


def to_csv(table: Sequence[dict[str, Any]]) -> str:
    keys = sorted({key for row in table for key in row})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def to_json(records: Iterable[Record]) -> str:
    """Whole records (metrics, per-sample outcomes, provenance), for machines."""
    return json.dumps([asdict(r) for r in records], indent=1)


def _format(value: Any, key: str, fmt: str) -> str:
    if value is None:
        return "–"
    if key in PERCENT:
        value = 100 * value
    return fmt.format(value)
