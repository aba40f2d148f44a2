"""Result tables: the long and wide layouts, worst-case numbers with intervals, per-run columns."""

from __future__ import annotations

from typing import Any

from bench.storage.store import Record
from leaderboard.tables import rows, to_markdown, to_markdown_wide


def _around(value: float) -> list[float]:
    """A stand-in 95% interval: every stored accuracy has one."""
    return [round(max(0.0, value - 0.1), 2), round(min(1.0, value + 0.1), 2)]


def record(method: str, attack: str, eps: float | None, robust: float, **metrics: Any) -> Record:
    threat = {"norm": "none", "eps": 0.0} if eps is None else {"norm": "linf", "eps": eps}
    return Record(
        cell_hash=f"{method}{attack}{eps}".ljust(64, "0"),
        cell={"seed": 0},
        labels={
            "method": method,
            "teacher": "minilm",
            "dataset": "procedural40",
            "attack": attack,
            "defense": "none",
        },
        status="ok",
        metrics={
            "n": 10,
            "clean_acc": robust if eps is None else 0.9,
            "clean_acc_ci": _around(robust if eps is None else 0.9),
            "robust_acc": robust,
            "robust_acc_ci": _around(robust),
            "attack_success_rate": 0.0,
            "warnings": [],
            **metrics,
        },
        samples={},
        provenance={"threat_model": threat},
    )


def test_wide_layout_shows_the_worst_case_with_its_interval() -> None:
    records = [
        record("ulip", "none", None, 0.9, clean_acc_ci=[0.6, 0.98]),
        record("ulip", "pgd(eps=0.01)", 0.01, 0.5, robust_acc_ci=[0.24, 0.76]),
        record("ulip", "pgd", 0.05, 0.1),
        record("dual", "none", None, 0.8),
        record("dual", "pgd", 0.05, 0.2, robust_acc_naive=0.6, robust_acc_ci=[0.06, 0.51]),
    ]
    table = to_markdown_wide(rows(records)).splitlines()
    assert table[0] == "| Method | Dataset | Clean (%) | pgd(eps=0.01) | pgd(eps=0.05) |"
    assert table[2] == "| dual | procedural40 | 80.0 [70.0, 90.0] | – | 20.0 [6.0, 51.0] |"
    assert table[3] == (
        "| ulip | procedural40 | 90.0 [60.0, 98.0] | 50.0 [24.0, 76.0] | 10.0 [0.0, 20.0] |"
    )


def test_long_layout_has_the_per_run_columns() -> None:
    table = to_markdown(
        rows([record("dual", "pgd", 0.05, 0.2, robust_acc_adaptive=0.3, robust_acc_naive=0.6)])
    )
    header, _, line = table.splitlines()[:3]
    columns = [c.strip() for c in header.split("|")]
    values = [c.strip() for c in line.split("|")]
    assert values[columns.index("Naive-run acc (%)")] == "60.0"
    assert values[columns.index("Attack-run acc (%)")] == "30.0"
    assert values[columns.index("Robust acc (%)")] == "20.0 [10.0, 30.0]"


def test_wide_layout_numbers_the_cells_with_indicators_and_adds_cross_cell_ones() -> None:
    flagged = record("ulip", "pgd", 0.05, 0.1, warnings=["the attack did not increase the loss"])
    records = [record("ulip", "none", None, 0.9), flagged]
    extra = {flagged.cell_hash: ["a larger budget did not lower robust accuracy"]}
    lines = to_markdown_wide(rows(records, extra_warnings=extra)).splitlines()
    assert lines[2] == "| ulip | procedural40 | 90.0 [80.0, 100.0] | 10.0 [0.0, 20.0] [1] |"
    assert lines[4] == (
        "[1] ulip × procedural40 × pgd: the attack did not increase the loss;"
        " a larger budget did not lower robust accuracy"
    )


def test_wide_layout_shows_both_cells_whose_labels_coincide() -> None:
    old, new = record("ulip", "pgd", 0.05, 0.3), record("ulip", "pgd", 0.05, 0.1)
    new.cell_hash = "f" * 64  # another identity (say, a new plugin version), the same labels
    lines = to_markdown_wide(rows([record("ulip", "none", None, 0.9), old, new])).splitlines()
    assert lines[2] == (
        "| ulip | procedural40 | 90.0 [80.0, 100.0] | 30.0 [20.0, 40.0] / 10.0 [0.0, 20.0] [1] |"
    )
    assert lines[4].startswith("[1] ulip × procedural40 × pgd: 2 stored cells share these labels")
    assert old.cell_hash[:16] in lines[4] and "f" * 16 in lines[4]


def test_long_layout_numbers_its_notes_one_to_k_whatever_the_flagged_rows_positions() -> None:
    records = [
        record("ulip", "none", None, 0.9),
        record("ulip", "pgd", 0.05, 0.1, warnings=["the attack did not increase the loss"]),
        record("ulip", "pgd", 0.1, 0.0),
        record("ulip2", "pgd", 0.05, 0.2, warnings=["a zero gradient"]),
    ]
    lines = to_markdown(rows(records)).splitlines()
    table, notes = lines[2:6], lines[7:]
    assert [line.split(" |")[0] for line in table] == [
        "| ulip",
        "| ulip [1]",
        "| ulip",
        "| ulip2 [2]",
    ]
    assert notes == ["[1] the attack did not increase the loss", "[2] a zero gradient"]
