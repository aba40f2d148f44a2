"""The cross-encoder transfer matrix from transfer cells: its numbers, its table and its chart."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.contracts.hashing import sha256_of
from bench.storage.store import Record
from leaderboard.site import publish
from leaderboard.transfer import to_csv, transfer_matrices


def transfer_cell(target: str, source: str, seed: int, robust: int, n: int = 20) -> Record:
    """A finished transfer cell: `robust` of `n` clouds crafted on `source` fool no `target`."""
    attack = {
        "name": "transfer",
        "version": 2,
        "config": {"source": source, "attack": "apgd", "preset": "", "eps": 0.01},
    }
    cell = {"method": {"name": target}, "attack": attack, "defense": {"name": "none"}, "seed": seed}
    adv_pred = [0] * robust + [1] * (n - robust)
    return Record(
        cell_hash=sha256_of(cell),
        cell=cell,
        labels={
            "method": target,
            "teacher": "minilm",
            "corpus": "procedural40/train",
            "dataset": "procedural40[unseen]",
            "attack": f"transfer(source={source})",
            "defense": "none",
        },
        status="ok",
        metrics={
            "n": n,
            "clean_acc": 1.0,
            "clean_acc_ci": [0.8, 1.0],
            "robust_acc": robust / n,
            "robust_acc_ci": [0.0, 1.0],
            "attack_success_rate": 1 - robust / n,
            "threat_model": "linf 0.01",
            "zero_shot": True,
            "warnings": [],
            "runs": ["attack"],
        },
        samples={
            "id": [f"s{i}" for i in range(n)],
            "label": [0] * n,
            "clean_pred": [0] * n,
            "adv_pred": adv_pred,
        },
        provenance={"finished_at": "2026-12-01T00:00:00+00:00"},
    )


RECORDS = [
    transfer_cell("ulip", "ulip", 0, 0),
    transfer_cell("ulip", "ulip", 1, 2),
    transfer_cell("ulip", "openshape", 0, 12),
    transfer_cell("ulip", "openshape", 1, 14),
    transfer_cell("openshape", "ulip", 0, 16),
    transfer_cell("openshape", "openshape", 0, 1),
]


def test_each_pair_is_the_mean_over_its_seeds_and_unrun_pairs_stay_empty() -> None:
    (matrix,) = transfer_matrices(RECORDS)
    assert matrix.targets == matrix.sources == ["openshape", "ulip"]
    assert matrix.mean("ulip", "ulip") == pytest.approx(0.05)  # seeds 0 and 2 of 20: 0% and 10%
    assert matrix.mean("ulip", "openshape") == pytest.approx(0.65)
    assert matrix.mean("openshape", "ulip") == pytest.approx(0.8)
    assert matrix.accuracy["ulip", "openshape"] == (0.6, 0.7)
    assert matrix.title == "procedural40[unseen], linf 0.01: apgd eps 0.01 transferred"
    assert to_csv(matrix).splitlines() == [
        "target \\ source,openshape,ulip",
        "openshape,5.0,80.0",
        "ulip,65.0,5.0",
    ]


def test_other_crafting_attacks_and_budgets_make_other_matrices() -> None:
    other = transfer_cell("ulip", "openshape", 0, 3)
    other.cell["attack"]["config"]["eps"] = 0.02
    other.metrics["threat_model"] = "linf 0.02"
    assert len(transfer_matrices([*RECORDS, other])) == 2
    assert transfer_matrices([r for r in RECORDS if r.labels["method"] == "x"]) == []


def test_the_site_shows_the_matrix_as_a_table_a_csv_and_a_heat_map(tmp_path: Path) -> None:
    publish(RECORDS, tmp_path)
    index = (tmp_path / "index.html").read_text()
    (matrix,) = transfer_matrices(RECORDS)
    assert "<h2>Transfer between encoders</h2>" in index
    assert '<td class="num" data-value="0.650000">65.0 <span class="ci">(2 seeds)</span>' in index
    assert (tmp_path / "tables" / f"{matrix.slug}.csv").read_text() == to_csv(matrix)
    chart = tmp_path / "charts" / f"{matrix.slug}.png"
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert f'<figure id="chart-{matrix.slug}"><svg' in index


def test_clouds_crafted_under_other_prompts_are_a_column_of_their_own() -> None:
    prompted = transfer_cell("ulip", "ulip", 0, 9)
    prompted.cell["attack"]["config"]["templates"] = "single"
    (matrix,) = transfer_matrices([*RECORDS, prompted])
    assert matrix.sources == ["openshape", "ulip", "ulip (single prompts)"]
    assert matrix.mean("ulip", "ulip (single prompts)") == pytest.approx(0.45)
    assert matrix.mean("ulip", "ulip") == pytest.approx(0.05)  # the white-box cells unchanged


def test_a_prompt_set_that_does_not_exist_is_one_sentence() -> None:
    from bench.contracts.errors import ConfigError
    from bench.contracts.plugins import ATTACKS

    config = ATTACKS.get("transfer").cls.Config
    with pytest.raises(ConfigError, match="transfer.templates must be a prompt-template set"):
        config(templates="ulip65")
    assert config(templates="single").templates == "single"
