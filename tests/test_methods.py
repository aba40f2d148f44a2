"""Method rows: a track's entries pooled over their training seeds, ranked by the test pooled
over seeds, on the site and in the tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scipy.stats import beta, binomtest

from bench.contracts.hashing import sha256_of
from bench.storage.store import Record
from leaderboard import exports, latex
from leaderboard.methods import method_rows, pooled_tests
from leaderboard.site import publish
from leaderboard.tracks import Entry, tracks

N = 40


def record(method: str, seed: int, robust: list[int], attack: str = "standard") -> Record:
    """A finished L-inf 0.01 cell of one training seed on N samples, all correct clean;
    `robust` lists the indices of the samples the attack left correct."""
    cell = {
        "method": {"name": method},
        "attack": {"name": attack},
        "defense": {"name": "none"},
        "seed": seed,
    }
    adv_pred = [0 if i in robust else 1 for i in range(N)]
    accuracy = len(robust) / N
    labels = {
        "method": method,
        "teacher": "minilm",
        "corpus": "procedural40/train",
        "dataset": "procedural40[unseen]",
        "attack": attack,
        "defense": "none",
    }
    metrics: dict[str, Any] = {
        "n": N,
        "clean_acc": 1.0,
        "clean_acc_ci": [0.9, 1.0],
        "robust_acc": accuracy,
        "robust_acc_ci": [0.0, 1.0],
        "attack_success_rate": 1.0 - accuracy,
        "threat_model": "linf 0.01",
        "zero_shot": True,
        "warnings": [],
        "runs": ["adaptive"],
    }
    return Record(
        cell_hash=sha256_of(cell),
        cell=cell,
        labels=labels,
        status="ok",
        metrics=metrics,
        samples={
            "id": [f"s{i}" for i in range(N)],
            "label": [0] * N,
            "clean_pred": [0] * N,
            "adv_pred": adv_pred,
        },
        provenance={"finished_at": "2026-12-01T10:00:00+00:00"},
    )


def entries_of(*records: Record) -> list[Entry]:
    ((_, entries),) = tracks(records).items()
    return entries


def first(count: int) -> list[int]:
    return list(range(count))


def test_a_method_row_pools_its_seeds_mean_range_and_an_interval_that_counts_seed_variation() -> (
    None
):
    alike = method_rows(entries_of(record("a", 0, first(25)), record("a", 1, first(25))))[0]
    apart = method_rows(entries_of(record("a", 0, first(10)), record("a", 1, first(40))))[0]
    assert alike.seeds == [0, 1] and alike.n == N
    assert alike.robust_mean == apart.robust_mean == 0.625
    assert apart.robust_range == (0.25, 1.0)
    low, high = apart.robust_interval
    assert low < 0.625 < high
    # The same mean from seeds that disagree is less certain than from seeds that agree.
    assert high - low > 1.5 * (alike.robust_interval[1] - alike.robust_interval[0])


def test_with_one_seed_the_interval_is_the_samples_jeffreys_interval() -> None:
    (row,) = method_rows(entries_of(record("a", 0, first(12))))
    expected = beta.ppf([0.025, 0.975], 12.5, N - 12 + 0.5)
    assert row.robust_interval == pytest.approx(tuple(expected), abs=0.01)


def test_seeds_too_small_to_separate_alone_separate_pooled() -> None:
    # Seed 0: a right on 3 samples b misses; seed 1: on 4. Each alone: p 0.25 and 0.125;
    # pooled, 7 of 7 discordant samples go to a: exact p = 2 / 128.
    records = [
        record("a", 0, first(23)),
        record("b", 0, first(20)),
        record("a", 1, first(24)),
        record("b", 1, first(20)),
    ]
    entries = entries_of(*records)
    assert {exports.rank_text(e) for e in entries} == {"=1"}  # per seed, nothing separates
    rows = method_rows(entries)
    assert [(r.label, r.rank_text) for r in rows] == [("a", "1"), ("b", "2")]
    pooled = pooled_tests(rows)[0, 1]
    assert pooled.pooled.p_value == pytest.approx(binomtest(7, 7, 0.5).pvalue)
    assert pooled.pooled.n == 2 * N and pooled.consistent
    assert {seed: test.only_a for seed, test in pooled.per_seed.items()} == {0: 3, 1: 4}
    assert pooled.verdict() == "A better"
    assert pooled_tests(rows)[1, 0].pooled.difference == -pooled.pooled.difference


def test_a_seed_going_the_other_way_keeps_two_methods_from_being_ranked_apart() -> None:
    # Seed 0: a right on 9 samples b misses; seed 1: b right on 1 sample a misses. Pooled,
    # 9 of 10 discordant samples go to a (p 0.021), but the seeds disagree on the direction.
    records = [
        record("a", 0, first(29)),
        record("b", 0, first(20)),
        record("a", 1, first(20)),
        record("b", 1, first(21)),
    ]
    rows = method_rows(entries_of(*records))
    pooled = pooled_tests(rows)[0, 1]
    assert pooled.pooled.significant() and not pooled.consistent
    assert pooled.verdict() == "A better; inconsistent across seeds"
    assert [r.rank_text for r in rows] == ["=1", "=1"]


def test_methods_are_paired_on_the_seeds_they_share() -> None:
    records = [
        record("a", 0, first(30)),
        record("a", 1, first(30)),
        record("b", 1, first(20)),
    ]
    rows = method_rows(entries_of(*records))
    pooled = pooled_tests(rows)[0, 1]
    assert list(pooled.per_seed) == [1] and pooled.pooled.n == N


def test_the_site_and_the_tables_show_the_method_rows(tmp_path: Path) -> None:
    records = [
        record("a", 0, first(22)),
        record("b", 0, first(20)),
        record("a", 1, first(24)),
        record("b", 1, first(20)),
    ]
    index, page = publish(records, tmp_path)
    html = page.read_text()
    assert html.index("Methods, pooled over training seeds") < html.index("Per training seed")
    assert "<td>1</td><td>a</td>" in html and "<td>2</td><td>b</td>" in html
    assert "57.5 <span" in html and "55.0–60.0" in html  # a's mean (23 of 40), seed range
    assert "seed 0 +5.0, seed 1 +10.0" in html and "A better" in html
    assert "a 57.5% [" in index.read_text() and "(2 seeds)" in index.read_text()
    tables = tmp_path / "tables"
    csv = (tables / f"{page.stem}-methods.csv").read_text().splitlines()
    assert csv[0].startswith("Rank,Method,Teacher") and len(csv) == 3
    markdown = (tables / f"{page.stem}.md").read_text()
    assert "| 1 | a | minilm | procedural40/train | 0 1 | zero-shot | 40 |" in markdown
    tex = (tables / f"{page.stem}-methods.tex").read_text()
    assert r"1 & a & procedural40/train & 2 & 100.0" in tex
    (track,) = tracks(records)
    assert latex.methods_to_latex(track, tracks(records)[track]) == tex
