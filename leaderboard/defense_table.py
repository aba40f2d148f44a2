"""The field's attacks x defenses table, one per victim, as Bag of Tricks and MRPD print it.

Their papers print, for each victim model, a row per attack and a column per defense, each cell
the accuracy that survives. The same cells here are ordinary store records, so the table is
a pure function of their rows (`leaderboard.tables.rows`, also the site's `cells.parquet`): the
cells of one method, dataset, training corpus and seed that span at least two defenses, a row
per attack (clean accuracy first, from the cells without an attack), a column per defense, each
value the cell's worst-case robust accuracy with its 95% interval and the letters of its
attack-failure indicators. Transfer and open-vocabulary cells have sections of their own and
are left out. No torch here.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.contracts.indicators import indicator_letters

CLEAN = "none"  # the attack label of the cells that measure clean accuracy
OWN_SECTIONS = {"transfer", "open_target"}  # attacks whose cells another section shows
Row = Mapping[str, Any]  # one cell as `leaderboard.tables.rows` flattens it


@dataclass(frozen=True)
class DefenseTable:
    """One victim's cells: (attack label, defense label) -> its row."""

    method: str
    dataset: str
    corpus: str
    seed: object
    cells: Mapping[tuple[str, str], Row]

    @property
    def defenses(self) -> list[str]:
        """Column order: no defense first, then by name."""
        names = {defense for _, defense in self.cells}
        return sorted(names, key=lambda d: (d != "none", d))

    @property
    def attacks(self) -> list[str]:
        """Row order: clean accuracy first, then by name."""
        names = {attack for attack, _ in self.cells}
        return sorted(names, key=lambda a: (a != CLEAN, a))

    @property
    def title(self) -> str:
        return f"{self.method} (seed {self.seed}, trained on {self.corpus}) on {self.dataset}"

    def value(self, attack: str, defense: str) -> CellValue | None:
        """The shown number of one cell; None where the pair was not run."""
        row = self.cells.get((attack, defense))
        return None if row is None else CellValue.of(row, clean=attack == CLEAN)


@dataclass(frozen=True)
class CellValue:
    """A table cell: accuracy (clean or worst-case robust), its interval, indicator letters;
    a failed cell has no number, a stale one (weights rebuilt since) says so."""

    accuracy: float | None
    interval: tuple[float, float]
    flags: str
    warnings: tuple[str, ...]
    status: str = "ok"

    @classmethod
    def of(cls, row: Row, clean: bool) -> CellValue:
        status = str(row["status"])
        if status.startswith("failed"):
            return cls(None, (0.0, 0.0), "", (), status)
        key = "clean_acc" if clean else "robust_acc"
        interval = (float(row[f"{key}_ci_low"]), float(row[f"{key}_ci_high"]))
        warnings = tuple(w for w in str(row.get("warnings") or "").split("; ") if w)
        letters = indicator_letters(warnings)
        flags = letters or (str(len(warnings)) if warnings else "")  # a count if none has a letter
        return cls(float(row[key]), interval, flags, warnings, status)

    def text(self) -> str:
        if self.accuracy is None:
            return "failed"
        low, high = self.interval
        flags = f" ⚑{self.flags}" if self.flags else ""
        stale = "" if self.status == "ok" else " (stale)"
        return f"{100 * self.accuracy:.1f} [{100 * low:.1f}, {100 * high:.1f}]{flags}{stale}"


def defense_tables(rows: Iterable[Row]) -> list[DefenseTable]:
    """One table per victim whose cells span two defenses or more."""
    groups: dict[tuple[str, str, str, object], dict[tuple[str, str], Row]] = {}
    for row in rows:
        if row["attack"].split("(")[0] in OWN_SECTIONS:
            continue
        key = (row["method"], row["dataset"], str(row.get("corpus", "")), row.get("seed"))
        groups.setdefault(key, {})[row["attack"], row.get("defense") or "none"] = row
    ordered = sorted(groups.items(), key=lambda group: [str(part) for part in group[0]])
    tables = [DefenseTable(*key, cells=cells) for key, cells in ordered]
    return [t for t in tables if len(t.defenses) > 1]


def to_markdown(table: DefenseTable) -> str:
    """The table in Markdown: accuracy in % with its 95% interval, ⚑ and indicator letters."""
    lines = [
        "| Attack | " + " | ".join(table.defenses) + " |",
        "|---|" + "---|" * len(table.defenses),
    ]
    for attack in table.attacks:
        values = [table.value(attack, defense) for defense in table.defenses]
        shown = ["–" if v is None else v.text() for v in values]
        lines.append(f"| {row_label(attack)} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def to_csv(table: DefenseTable) -> str:
    """The table as CSV: a row per attack, a column per defense, accuracy in %."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["attack", *table.defenses])
    for attack in table.attacks:
        values = [table.value(attack, defense) for defense in table.defenses]
        numbers = [
            f"{100 * v.accuracy:.1f}" if v and v.accuracy is not None else "" for v in values
        ]
        writer.writerow([row_label(attack), *numbers])
    return text.getvalue()


def row_label(attack: str) -> str:
    return "clean (no attack)" if attack == CLEAN else attack


def all_markdown(tables: Sequence[DefenseTable]) -> str:
    """Every table under its title, for `bench results --layout defenses`."""
    return "\n\n".join(f"{t.title}\n\n{to_markdown(t)}" for t in tables)


def slug(table: DefenseTable) -> str:
    """The table's file name stem and anchor."""
    return "defenses-" + re.sub(r"[^a-z0-9]+", "-", table.title.lower()).strip("-")
