"""Result tables (Markdown, CSV, JSON) as pure functions of store records; no torch here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from bench.contracts.metrics import CellMetrics
from bench.storage.store import Record
from leaderboard.attack_config import describe

# (column key, header, format) in display order.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("method", "Method", "{}"),
    ("teacher", "Teacher", "{}"),
    ("corpus", "Trained on", "{}"),
    ("dataset", "Dataset", "{}"),
    ("protocol", "Protocol", "{}"),
    ("attack", "Attack", "{}"),
    ("attack_config", "Attack config", "{}"),
    ("defense", "Defense", "{}"),
    ("seed", "Seed", "{}"),
    ("n", "N", "{}"),
    ("clean_acc", "Clean acc (%)", "{:.1f}"),
    ("reported_acc", "Reported (%)", "{:.1f}"),  # the release authors' clean accuracy
    ("robust_acc", "Robust acc (%)", "{:.1f}"),
    ("robust_acc_adaptive", "Attack-run acc (%)", "{:.1f}"),
    ("robust_acc_naive", "Naive-run acc (%)", "{:.1f}"),
    ("eot_draws", "EOT draws", "{}"),
    ("attack_success_rate", "Attack success (%)", "{:.1f}"),
    ("linf_mean", "L∞ mean", "{:.4f}"),
    ("l2_mean", "L2 mean", "{:.3f}"),
    ("chamfer_sq_two_sided_mean", "Chamfer² mean", "{:.2e}"),
    ("wall_s", "Time (s)", "{:.1f}"),
    ("status", "Status", "{}"),
    ("cell_hash", "Cell", "{}"),
)
OPTIONAL = {"reported_acc"}  # columns shown only when some row has a value
PERCENT = {
    "clean_acc",
    "reported_acc",
    "robust_acc",
    "robust_acc_adaptive",
    "robust_acc_naive",
    "attack_success_rate",
}
WITH_INTERVAL = ("clean_acc", "robust_acc")  # shown as "value [low, high]" in Markdown
# Rows of the wide layout: everything that identifies a victim and an evaluation setting.
WIDE_KEYS = (
    ("method", "Method"),
    ("teacher", "Teacher"),
    ("corpus", "Trained on"),
    ("dataset", "Dataset"),
    ("protocol", "Protocol"),
    ("defense", "Defense"),
    ("seed", "Seed"),
)


def rows(
    records: Iterable[Record],
    stale: Collection[str] = (),
    extra_warnings: Mapping[str, Sequence[str]] | None = None,
) -> list[dict[str, Any]]:
    """One flat row per record, numbers as numbers (fractions in [0, 1]).

    `stale`: hashes of cells whose trained weights have been rebuilt since they were computed.
    `extra_warnings`: indicators computed across cells (`leaderboard.indicators`), by hash.
    """
    table = []
    extra_warnings = extra_warnings or {}
    for record in records:
        row: dict[str, Any] = {**record.labels, "seed": record.cell.get("seed")}
        row.update({k: v for k, v in record.metrics.items() if not isinstance(v, list | dict)})
        for name, value in record.metrics.items():
            if name.endswith("_ci") and isinstance(value, list):
                row[f"{name}_low"], row[f"{name}_high"] = value
        warnings = [*record.metrics.get("warnings", []), *extra_warnings.get(record.cell_hash, [])]
        row["warnings"] = "; ".join(warnings)
        row["protocol"] = protocol_label(record.measured) if record.status == "ok" else None
        row["status"] = record.status if record.status == "ok" else f"failed: {record.error}"
        if record.cell_hash in stale:
            row["status"] = "stale: weights rebuilt"
        row["cell_hash"] = record.cell_hash[:16]
        attack = record.cell.get("attack")  # name, version, config: how hard it tried
        row["attack_config"] = describe(attack, threat=True) if attack else row["attack"]
        threat = record.provenance.get("threat_model") or {}
        row["budget"] = threat.get("eps") if threat.get("norm", "none") != "none" else None
        table.append(row)
    return sorted(table, key=lambda r: (r["method"], r["dataset"], r["attack"], r["seed"] or 0))


def to_markdown(table: Sequence[dict[str, Any]]) -> str:
    """A Markdown table; failed cells stay visible, warnings are listed under the table."""
    columns = [c for c in COLUMNS if c[0] not in OPTIONAL or any(c[0] in r for r in table)]
    headers = [header for _, header, _ in columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    notes: list[str] = []
    for row in table:
        cells = [_format_with_interval(row, key, fmt) for key, _, fmt in columns]
        if row.get("warnings"):  # numbered by the notes shown, not by the row's position
            notes.append(f"[{len(notes) + 1}] {row['warnings']}")
            cells[0] += f" [{len(notes)}]"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + ([""] + notes if notes else []))


def to_markdown_wide(table: Sequence[dict[str, Any]]) -> str:
    """One row per victim and setting, one column per attack: robust accuracy in %.

    Each cell is the worst case over the cell's attack runs, with its 95% interval; a cell
    with attack-failure indicators gets a numbered note under the table. Columns that never
    vary (defense, seed) are left out; failed cells read "failed".
    """
    attacks = sorted(
        {(r["attack"], r.get("budget")) for r in table if r["attack"] != "none"},
        key=lambda a: (a[0].split("(")[0], a[1] or 0.0, a[0]),
    )
    keys = [
        (k, h)
        for k, h in WIDE_KEYS
        if len({r.get(k) for r in table}) > 1
        or k in ("method", "dataset")
        or (k == "protocol" and any(r.get(k) for r in table))
    ]
    groups: dict[tuple[Any, ...], dict[Any, dict[str, Any]]] = {}
    collisions: dict[tuple[tuple[Any, ...], Any], list[str]] = {}
    for row in table:
        key = tuple(row.get(k) for k, _ in keys)
        group = groups.setdefault(key, {})
        slot = (row["attack"], row.get("budget")) if row["attack"] != "none" else "none"
        if slot in group:  # same labels, another cell (a plugin version, a stale record)
            hashes = collisions.setdefault((key, slot), [group[slot]["cell_hash"]])
            hashes.append(row["cell_hash"])
            group[slot] = _combined(group[slot], row)
        else:
            group[slot] = row
    reported = any("reported_acc" in r for r in table)
    headers = [h for _, h in keys] + ["Clean (%)"] + (["Reported (%)"] * reported)
    headers += [_budget_label(*a) for a in attacks]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    notes: list[str] = []
    for key, cells in groups.items():
        clean = cells.get("none") or next(iter(cells.values()))
        values = [str(v) for v in key]
        values.append(_wide_cell(clean, "clean_acc"))
        if reported:
            values.append(_format(clean.get("reported_acc"), "reported_acc", "{:.1f}"))
        for attack in attacks:
            found = cells.get(attack)
            value = _wide_cell(found, "robust_acc")
            where = " × ".join(str(v) for v in (*key, attack[0]))
            if (key, attack) in collisions:
                notes.append(
                    f"[{len(notes) + 1}] {where}: {len(collisions[key, attack])} stored cells"
                    f" share these labels ({', '.join(collisions[key, attack])}: other plugin"
                    " versions or a stale record); each is shown, `bench results` lists them"
                )
                value += f" [{len(notes)}]"
            if found is not None and found.get("warnings"):
                notes.append(f"[{len(notes) + 1}] {where}: {found['warnings']}")
                value += f" [{len(notes)}]"
            values.append(value)
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines + ([""] + notes if notes else []))


def _combined(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two rows with the same labels as one wide cell that shows both values, "a / b"."""
    shown = " / ".join(_wide_cell(r, "robust_acc") for r in (first, second))
    warnings = "; ".join(w for w in (first.get("warnings"), second.get("warnings")) if w)
    return {**first, "shown": shown, "warnings": warnings}


def _budget_label(label: str, budget: float | None) -> str:
    """The attack label with its budget shown even when it is the default."""
    if budget is None or "eps=" in label:
        return label
    if label.endswith(")"):
        return f"{label[:-1]}, eps={budget:g})"
    return f"{label}(eps={budget:g})"


def _wide_cell(row: dict[str, Any] | None, key: str) -> str:
    if row is None:
        return "–"
    if "shown" in row:  # several cells with the same labels
        return str(row["shown"])
    if row["status"].startswith("failed"):
        return "failed"
    value = _format_with_interval(row, key, "{:.1f}")
    return value if row["status"] == "ok" else f"{value} (stale)"


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


def protocol_label(metrics: CellMetrics) -> str | None:
    """ "zero-shot" only when no evaluated class name was among the training classes; "open
    vocabulary" when the training text was free captions, in which any name may occur; None
    for records that do not say (stored before cells recorded it)."""
    if metrics.open_vocabulary:
        return "open vocabulary"
    if metrics.zero_shot is None:
        return None
    return "zero-shot" if metrics.zero_shot else "seen classes"


def _format_with_interval(row: dict[str, Any], key: str, fmt: str) -> str:
    """The value, followed by its 95% interval in brackets when the row has one."""
    text = _format(row.get(key), key, fmt)
    low, high = row.get(f"{key}_ci_low"), row.get(f"{key}_ci_high")
    if key in WITH_INTERVAL and low is not None and high is not None:
        text += f" [{_format(low, key, fmt)}, {_format(high, key, fmt)}]"
    return text


def _format(value: Any, key: str, fmt: str) -> str:
    if value is None:
        return "–"
    if key in PERCENT:
        value = 100 * value
    return fmt.format(value)
