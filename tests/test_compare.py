"""`bench compare`: paired tests between methods on the same samples, from stored records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.storage.store import Record, Store
from bench.testing.records import stored_record
from leaderboard.compare import all_pairs, to_markdown


def record(method: str, adv_pred: list[int], ids: list[str], seed: int = 0) -> Record:
    return stored_record(adv_pred, ids=ids, method=method, seed=seed)


def bench(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BENCH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, env=env
    )


def test_pairs_within_a_setting_with_interval_p_value_and_verdict(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    ids = [f"s{i}" for i in range(40)]
    # a: robust on 30; b: robust on the same 30 minus 12 (a strictly better on 12 samples).
    a = record("a", [0] * 30 + [1] * 10, ids)
    b = record("b", [0] * 18 + [1] * 22, ids)
    for cell in (a, b, record("c", [0] * 29 + [1] * 11, list(reversed(ids)))):  # c: reordered
        store.put(cell)
    result = bench(tmp_path, "compare")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| Dataset | Attack | Defense | A | B | n |")
    a_b = next(line for line in lines if "| a | b |" in line)
    assert "| 40 | 75.0 | 45.0 | +30.0 [" in a_b and "| A better |" in a_b
    # Exact McNemar 2 / 2^12; the smallest of the family of 3 pairs, so Holm multiplies by 3.
    assert "| 0.000488 | 0.00146 |" in a_b
    # One of the 3 tests rejected: the intervals are at 1 - 0.05 / 2, Holm's last step.
    assert "| A − B (pp) [97.5% CI] |" in lines[0]
    a_c = next(line for line in lines if "| a | c |" in line)
    assert "| not significant |" in a_c  # one sample apart of 40: neither shown nor excluded
    assert "Family: the 3 paired tests of this table" in result.stdout

    by_hash = bench(tmp_path, "compare", a.cell_hash[:4], b.cell_hash[:4], "--outcome", "clean")
    assert by_hash.returncode == 0, by_hash.stderr
    assert "| +0.0 [+0.0, +0.0] |" in by_hash.stdout  # the same clean outcome on every sample
    assert "| not significant |" in by_hash.stdout and "[95% CI]" in by_hash.stdout
    assert "Family: the 1 paired test of this table" in by_hash.stdout
    other_attack = stored_record([0] * 20 + [1] * 20, ids=ids, method="a", attack="si_adv")
    store.put(other_attack)
    two_attacks = bench(tmp_path, "compare", a.cell_hash[:6], other_attack.cell_hash[:6])
    assert "| d | pgd / si_adv | none | a | a | 40 | 75.0 | 50.0 |" in two_attacks.stdout
    missing = bench(tmp_path, "compare", "ffffffff", b.cell_hash[:4])
    assert (
        missing.returncode == 2
        and "no stored cells match the hash prefix 'ffffffff'" in missing.stderr
    )


def test_seeds_are_compared_within_a_seed_and_a_claim_needs_every_seed(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    ids = [f"s{i}" for i in range(40)]
    store.put(record("a", [0] * 30 + [1] * 10, ids, seed=0))
    store.put(record("b", [0] * 18 + [1] * 22, ids, seed=0))  # seed 0: a better, p < 0.001
    store.put(record("a", [0] * 30 + [1] * 10, ids, seed=1))
    store.put(record("b", [0] * 29 + [1] * 11, ids, seed=1))  # seed 1: one sample apart
    lines = bench(tmp_path, "compare").stdout.splitlines()
    pairs = [line for line in lines[:6] if line.startswith("| d |")]
    assert len(pairs) == 2  # a-b in seed 0 and in seed 1; no cross-seed pairs
    assert "| a (seed 1) | b (seed 1) |" in pairs[1]
    (summary,) = [line for line in lines if "| a | b | 2 |" in line]
    assert "| 75.0 | 58.8 | +30.0*, +2.5 |" in summary
    assert "inconsistent across seeds: A better in 1, not significant in 1 of 2" in summary


def test_a_non_significant_pair_reads_equivalent_only_when_tost_shows_it() -> None:
    ids = [f"s{i}" for i in range(600)]
    base = [0] * 300 + [1] * 300
    close = record("close", base[:-3] + [0] * 3, ids)  # 3 of 600 apart: inside ±2 points
    # far: 12 only a gets right, 6 only far: 1 point apart, p = 0.24, 90% interval past +2.
    far = record("far", [1] * 12 + [0] * 288 + [0] * 6 + [1] * 294, ids)
    pairs = all_pairs([record("a", base, ids), close, far])
    rendered = to_markdown(pairs)
    assert "no difference" not in rendered.lower()
    by_pair = {(c.a.labels["method"], c.b.labels["method"]): c for c in pairs}
    assert not by_pair["a", "close"].result.significant()
    assert by_pair["a", "close"].result.equivalent()
    assert by_pair["a", "close"].verdict() == "equivalent (within ±2 points)"
    assert not by_pair["a", "far"].result.significant()
    assert not by_pair["a", "far"].result.equivalent()
    assert by_pair["a", "far"].verdict() == "not significant"
    for comparison, row in zip(pairs, rendered.splitlines()[2:], strict=True):
        said_equivalent = "equivalent" in row
        assert said_equivalent == (
            comparison.result.equivalent() and not comparison.result.significant()
        )


def interval_of(row: str) -> tuple[float, float]:
    low, high = row.split("[")[1].split("]")[0].split(", ")
    return float(low), float(high)


def test_the_printed_interval_and_verdict_no_longer_contradict(tmp_path: Path) -> None:
    """1 of 500 right only for A and 7 only for B: exact p = 0.0703, which Newcombe's 95%
    interval ([-2.4, -0.1] points) contradicted; the printed interval now contains 0."""
    store = Store(tmp_path / "store")
    ids = [f"s{i}" for i in range(500)]
    a = record("a", [0] * 200 + [0] + [1] * 7 + [1] * 292, ids)
    b = record("b", [0] * 200 + [1] + [0] * 7 + [1] * 292, ids)
    store.put(a)
    store.put(b)
    result = bench(tmp_path, "compare", a.cell_hash[:8], b.cell_hash[:8])
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if "| a | b |" in line]
    assert "| -1.2 [" in row and "| 0.0703 | 0.0703 | not significant |" in row
    low, high = interval_of(row)
    assert low < 0 < high
    assert "excludes 0 exactly when p (Holm) < 0.05" in result.stdout


def test_every_printed_interval_excludes_zero_exactly_when_the_verdict_names_a_winner() -> None:
    ids = [f"s{i}" for i in range(300)]
    base = [0] * 150 + [1] * 150  # right on the first 150
    # Each variant gets `lost` of base's right samples wrong and `won` of its wrong ones right.
    variants = [(0, 0), (3, 1), (8, 1), (15, 2), (30, 5), (6, 6), (12, 0)]
    records = [
        record(
            f"m{lost}-{won}", [1] * lost + [0] * (150 - lost) + [0] * won + [1] * (150 - won), ids
        )
        for lost, won in variants
    ]
    pairs = all_pairs([record("base", base, ids), *records])
    rows = to_markdown(pairs).splitlines()[2:]
    assert any("better" in row for row in rows) and any("not significant" in row for row in rows)
    for comparison, row in zip(pairs, rows, strict=True):
        low, high = comparison.result.interval
        assert (low > 0 or high < 0) == ("better" in row) == comparison.result.significant()
