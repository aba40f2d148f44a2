"""Method rows of a track: each method's entries pooled over its training seeds.

A track's entries are victims, one per training seed, but the question a leaderboard answers
is which *method* is more robust. A method row gathers the ranked entries that share their
labels but for the seed (method and weights source, teacher, training corpus, defense):

- **Accuracy**: the mean over seeds of clean and worst-case robust accuracy, their range
  (lowest and highest seed), and a 95% interval that counts both the seed-to-seed and the
  sample variation: a two-level bootstrap that draws the seeds with replacement and, for each
  drawn seed, its accuracy from its Jeffreys posterior Beta(k + 1/2, n - k + 1/2) (what
  resampling its samples estimates, without collapsing to a point at 0% or 100%); the 2.5th
  and 97.5th percentiles of the mean over `BOOTSTRAP_DRAWS` draws, from a fixed seed so that a
  page is the same every time it is published. With one seed it is a sample interval only.
- **Verdict between two rows**: on the seeds both have, each seed's entries are paired on
  their shared samples, and the exact McNemar test is run on the discordant samples summed
  over those seeds: the Mantel-Haenszel test for matched pairs stratified by seed (under the
  null every discordant pair goes either way with probability 1/2, whatever its seed). Its p
  is Holm-adjusted over the pairs of method rows of the track. It is conditional on the
  trained weights at hand, so it is read with the direction of each seed: the pair is
  **inconsistent across seeds** when one shared seed's difference has the opposite sign of
  another's (even by one sample: the check errs towards not ranking).
- **Rank**: one plus the number of rows that beat it: pooled test significant and every
  shared seed's difference in the same direction (or none). Rows no such test separates
  share a rank.

Pure function of the track's entries; no torch here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from typing import Any

import numpy as np

from bench.evaluation.statistics import PairedComparison, holm_family, paired_comparison
from leaderboard.compare import shared_outcomes
from leaderboard.tracks import Entry

BOOTSTRAP_DRAWS = 10_000
BOOTSTRAP_SEED = 0
LABELS = ("method", "teacher", "corpus", "defense")  # what a method row shares; not the seed


@dataclass
class MethodRow:
    """One method's ranked entries of a track, one per training seed."""

    labels: dict[str, Any]
    entries: list[Entry]  # in seed order
    rank: int = 0
    tied: bool = False

    @property
    def label(self) -> str:
        defense = self.labels["defense"]
        return self.labels["method"] + ("" if defense == "none" else f" + {defense}")

    @property
    def rank_text(self) -> str:
        """ "2", or "=2" for a rank another method shares."""
        return f"={self.rank}" if self.tied else str(self.rank)

    @property
    def seeds(self) -> list[Any]:
        return [entry.victim["seed"] for entry in self.entries]

    @property
    def n(self) -> int:
        """Samples per seed (the smallest, if the seeds' cells evaluated different ones)."""
        return min(entry.n for entry in self.entries)

    @property
    def protocol(self) -> str:
        """Zero-shot only if every seed's entry is."""
        protocols = {entry.protocol for entry in self.entries}
        return protocols.pop() if len(protocols) == 1 else "seen classes"

    @property
    def robust_mean(self) -> float:
        return float(np.mean([entry.robust_acc for entry in self.entries]))

    @property
    def robust_range(self) -> tuple[float, float]:
        values = [entry.robust_acc for entry in self.entries]
        return min(values), max(values)

    @cached_property
    def robust_interval(self) -> tuple[float, float]:
        return seed_and_sample_interval([(int(e.robust.sum()), e.n) for e in self.entries])

    @property
    def clean_mean(self) -> float:
        return float(np.mean([entry.clean_acc for entry in self.entries]))

    @property
    def clean_range(self) -> tuple[float, float]:
        values = [entry.clean_acc for entry in self.entries]
        return min(values), max(values)

    @cached_property
    def clean_interval(self) -> tuple[float, float]:
        return seed_and_sample_interval([(int(e.clean.sum()), e.n) for e in self.entries])


@dataclass(frozen=True)
class PooledComparison:
    """Row A against row B: the test pooled over their shared seeds, and each seed's own."""

    pooled: PairedComparison  # Holm-adjusted over the track's method pairs
    per_seed: dict[Any, PairedComparison]

    @property
    def consistent(self) -> bool:
        """No two shared seeds whose differences have opposite signs."""
        signs = {np.sign(test.difference) for test in self.per_seed.values()} - {0}
        return len(signs) < 2

    def beats(self) -> bool:
        """A is significantly more robust than B, pooled, and no seed goes the other way."""
        return self.pooled.difference > 0 and self.pooled.significant() and self.consistent

    def verdict(self) -> str:
        """The pooled verdict; a significant one says when the seeds disagree on its direction."""
        if not self.pooled.significant():
            return "equivalent" if self.pooled.equivalent() else "not significant"
        said = "A better" if self.pooled.difference > 0 else "B better"
        return said if self.consistent else f"{said}; inconsistent across seeds"


def seed_and_sample_interval(
    counts: Sequence[tuple[int, int]], draws: int = BOOTSTRAP_DRAWS
) -> tuple[float, float]:
    """95% interval of the mean accuracy over seeds, from (correct, n) per seed (module
    docstring: seeds resampled, each drawn seed's accuracy from its Jeffreys posterior)."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    right = np.array([k for k, _ in counts], dtype=float)
    total = np.array([n for _, n in counts], dtype=float)
    picked = rng.integers(len(counts), size=(draws, len(counts)))
    accuracy = rng.beta(right[picked] + 0.5, total[picked] - right[picked] + 0.5)
    low, high = np.percentile(accuracy.mean(axis=1), [2.5, 97.5])
    return float(low), float(high)


def method_rows(entries: Sequence[Entry]) -> list[MethodRow]:
    """The ranked entries of a track gathered into method rows, ranked best first."""
    grouped: dict[tuple[Any, ...], list[Entry]] = {}
    for entry in entries:
        if entry.ranked:
            key = tuple(entry.victim[label] for label in LABELS)
            grouped.setdefault(key, []).append(entry)
    rows = [
        MethodRow(
            dict(zip(LABELS, key, strict=True)),
            sorted(same, key=lambda e: e.victim["seed"]),
        )
        for key, same in grouped.items()
    ]
    rows.sort(key=lambda r: (-r.robust_mean, -r.clean_mean, r.label))
    tests = pooled_tests(rows)
    for i, row in enumerate(rows):
        row.rank = 1 + sum(test.beats() for (j, k), test in tests.items() if k == i and j != i)
    for row in rows:
        row.tied = sum(other.rank == row.rank for other in rows) > 1
    rows.sort(key=lambda r: (r.rank, -r.robust_mean, -r.clean_mean, r.label))
    return rows


def pooled_comparison(a: MethodRow, b: MethodRow) -> PooledComparison | None:
    """A against B on the seeds and samples both have (unadjusted); None if they share none."""
    seeds_b = {entry.victim["seed"]: entry for entry in b.entries}
    right_a: list[bool] = []
    right_b: list[bool] = []
    per_seed = {}
    for entry in a.entries:
        other = seeds_b.get(entry.victim["seed"])
        if other is None:
            continue
        mine, theirs = shared_outcomes(entry.ids, entry.robust, other.ids, other.robust)
        if mine:
            per_seed[entry.victim["seed"]] = paired_comparison(mine, theirs)
            right_a += mine
            right_b += theirs
    if not right_a:
        return None
    return PooledComparison(paired_comparison(right_a, right_b), per_seed)


def pooled_tests(rows: Sequence[MethodRow]) -> dict[tuple[int, int], PooledComparison]:
    """Row i against row j for every two that share a seed, both ways round, Holm-adjusted
    over the distinct pairs."""
    pairs = [
        (i, j, test)
        for i, j in combinations(range(len(rows)), 2)
        if (test := pooled_comparison(rows[i], rows[j])) is not None
    ]
    adjusted = holm_family([test.pooled for *_, test in pairs])
    tests = {}
    for (i, j, test), pooled in zip(pairs, adjusted, strict=True):
        tests[i, j] = dataclasses.replace(test, pooled=pooled)
        mirrored = pooled_comparison(rows[j], rows[i])
        assert mirrored is not None  # the same seeds and samples
        tests[j, i] = dataclasses.replace(
            mirrored,
            pooled=dataclasses.replace(
                mirrored.pooled,
                p_adjusted=pooled.p_adjusted,
                family=pooled.family,
                confidence=pooled.confidence,
                interval=(-pooled.interval[1], -pooled.interval[0]),
            ),
        )
    return tests
