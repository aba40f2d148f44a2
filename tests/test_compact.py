"""The terminal table of `bench results`: 100 columns at most, shared values said once above,
notes numbered by the notes that exist; `--wide` keeps every column."""

from __future__ import annotations

import dataclasses

from bench.contracts.hashing import sha256_of
from bench.storage.store import Record
from bench.testing.records import stored_record
from leaderboard.compact import to_compact
from leaderboard.tables import COLUMNS, rows, to_markdown

LONG = "openshape_pointbert_vitg14_with_a_release_name_longer_than_any_column"


def cell(method: str, robust: int, steps: int, **metrics: object) -> Record:
    """A PGD cell on 40 samples with its whole configuration, as `bench run` stores it."""
    record = stored_record([0] * robust + [1] * (40 - robust), method=method, **metrics)
    config = {"norm": "linf", "eps": 0.01, "steps": steps, "random_start": True, "restarts": 1}
    identity = {**record.cell, "attack": {"name": "pgd", "version": 5, "config": config}}
    labels = {**record.labels, "attack": f"pgd(eps=0.01, steps={steps})"}
    return dataclasses.replace(record, cell=identity, cell_hash=sha256_of(identity), labels=labels)


RECORDS = [
    cell("ulip", 10, 200, zero_shot=True),
    cell(LONG, 30, 10, zero_shot=True, warnings=["the attack did not increase the loss"]),
    cell("openshape", 20, 200, zero_shot=True),
    cell("uni3d", 25, 200, zero_shot=True, warnings=["a zero gradient"]),
]


def test_no_line_is_over_100_characters() -> None:
    text = to_compact(rows(RECORDS))
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "pgd v5 (linf 0.01," in text and "200 steps" in text and "1 restart)" in text
    assert "100.0 [91.2, 100.0]" in text and "25.0 [14.2, 40.2]" in text


def test_values_every_row_shares_are_said_once_above_the_table() -> None:
    lines = to_compact(rows(RECORDS)).splitlines()
    assert lines[:3] == ["data: d", "protocol: zero-shot", ""]
    header = lines[3].split()
    assert header[:2] == ["method", "attack"] and "data" not in header
    assert sum("zero-shot" in line for line in lines) == 1


def test_notes_are_numbered_by_the_notes_that_exist() -> None:
    lines = to_compact(rows(RECORDS)).splitlines()
    flagged = [line.split()[0] for line in lines if "[1]" in line or "[2]" in line]
    assert flagged[:2] == ["openshape_pointbert_", "uni3d"]  # sorted rows; the long name wraps
    assert lines[-2:] == ["[1] the attack did not increase the loss", "[2] a zero gradient"]


def test_the_wide_table_keeps_every_column() -> None:
    header = to_markdown(rows(RECORDS)).splitlines()[0]
    for _, title, _ in COLUMNS:
        if title != "Reported (%)":  # shown only when some row has a value
            assert f"| {title} |" in header
