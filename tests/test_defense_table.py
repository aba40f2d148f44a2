"""The field's attacks x defenses table: rows, columns, numbers, its CSV and its site section."""

from __future__ import annotations

from pathlib import Path

from bench.contracts.hashing import sha256_of
from bench.storage.store import Record
from leaderboard.defense_table import defense_tables, slug, to_csv, to_markdown
from leaderboard.site import publish
from leaderboard.tables import rows


def cell(
    attack: str,
    defense: str,
    robust: int,
    clean: int = 8,
    n: int = 10,
    method: str = "ulip",
    warnings: tuple[str, ...] = (),
) -> Record:
    """A finished cell: `clean` of `n` clouds right before the attack, `robust` after it."""
    name = attack.split("(")[0]
    spec = {"method": {"name": method}, "attack": {"name": name, "config": {"label": attack}}}
    spec |= {"defense": {"name": defense}, "seed": 0}
    return Record(
        cell_hash=sha256_of(spec),
        cell=spec,
        labels={
            "method": method,
            "teacher": "minilm",
            "corpus": "procedural40/train",
            "dataset": "procedural40[unseen]",
            "attack": attack,
            "defense": defense,
        },
        status="ok",
        metrics={
            "n": n,
            "clean_acc": clean / n,
            "clean_acc_ci": [clean / n - 0.2, min(1.0, clean / n + 0.1)],
            "robust_acc": robust / n,
            "robust_acc_ci": [0.0, robust / n + 0.25],
            "attack_success_rate": 1 - robust / clean,
            "threat_model": "linf 0.01" if name != "none" else "none",
            "zero_shot": True,
            "warnings": list(warnings),
            "runs": ["attack"],
        },
        samples={"id": [], "label": [], "clean_pred": [], "adv_pred": []},
        provenance={"finished_at": "2026-12-01T00:00:00+00:00"},
    )


FLAG = (
    "not converged: robust accuracy still fell from 50% to 30% over the last half of the 10 steps"
)
RECORDS = [
    cell("none", "none", 8),
    cell("none", "sor", 7, clean=7),
    cell("pgd(eps=0.01)", "none", 1),
    cell("pgd(eps=0.01)", "sor", 3, clean=7, warnings=(FLAG,)),
    cell("knn", "sor", 5, clean=7),
    cell("transfer(source=openshape)", "none", 6),  # its own section
    cell("none", "none", 9, method="openshape"),  # one defense only: no table
    cell("pgd(eps=0.01)", "none", 2, method="openshape"),
]


def test_a_row_per_attack_a_column_per_defense_clean_accuracy_first() -> None:
    (table,) = defense_tables(rows(RECORDS))
    assert (table.method, table.defenses) == ("ulip", ["none", "sor"])
    assert table.attacks == ["none", "knn", "pgd(eps=0.01)"]
    assert to_markdown(table).splitlines() == [
        "| Attack | none | sor |",
        "|---|---|---|",
        "| clean (no attack) | 80.0 [60.0, 90.0] | 70.0 [50.0, 80.0] |",
        "| knn | – | 50.0 [0.0, 75.0] |",
        "| pgd(eps=0.01) | 10.0 [0.0, 35.0] | 30.0 [0.0, 55.0] ⚑c |",
    ]
    assert to_csv(table).splitlines() == [
        "attack,none,sor",
        "clean (no attack),80.0,70.0",
        "knn,,50.0",
        "pgd(eps=0.01),10.0,30.0",
    ]


def test_a_failed_cell_says_so_and_a_stale_one_is_marked() -> None:
    failed = cell("knn", "none", 0)
    failed.status, failed.error = "failed", "out of memory"
    stale = cell("knn", "sor", 5, clean=7)
    (table,) = defense_tables(rows([*RECORDS[:5], failed], stale={stale.cell_hash}))
    assert to_markdown(table).splitlines()[3] == "| knn | failed | 50.0 [0.0, 75.0] (stale) |"
    assert to_csv(table).splitlines()[2] == "knn,,50.0"


def test_the_site_shows_each_victims_table_with_its_csv(tmp_path: Path) -> None:
    publish(RECORDS, tmp_path)
    index = (tmp_path / "index.html").read_text()
    (table,) = defense_tables(rows(RECORDS))
    assert "<h2>Attacks against defenses</h2>" in index
    assert f'<h3 id="{slug(table)}">ulip (seed 0, trained on procedural40/train)' in index
    assert "<th>attack \\ defense</th><th>none</th><th>sor</th>" in index
    assert '<td class="num" data-value="0.300000">30.0 <span class="ci">[0.0, 55.0]</span>' in index
    assert (tmp_path / "tables" / f"{slug(table)}.csv").read_text() == to_csv(table)
