"""Uncertainty of accuracies and of differences between two methods on the same samples.

- `wilson_interval` (`bench.contracts.accuracy`): the 95% Wilson score interval of a
  proportion (scipy's binomtest), which keeps its coverage near 0% and 100% where the normal
  approximation collapses to a point.
- `paired_comparison`: two classifiers judged on the same samples. The exact McNemar test
  (a two-sided binomial test on the discordant pairs) gives the p-value; the difference of the
  two accuracies gets Newcombe's hybrid score interval (method 10 of Newcombe, Statistics in
  Medicine 1998), which accounts for the pairing.
- `holm_family`: a table that shows many paired tests reads a single starred cell as a
  finding, so significance is judged on Holm-Bonferroni adjusted p-values over the tests the
  table shows (its family), which keeps the family-wise error rate at 5%.
- `PairedComparison.equivalent`: a non-significant difference is not evidence of none. Two
  methods are called equivalent only by a paired TOST (two one-sided tests at 5% each): the
  90% Newcombe interval of the difference lies strictly inside ±`MARGIN`.

No torch here: the leaderboard uses this module too.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binomtest

from bench.contracts.accuracy import CONFIDENCE, wilson_interval

LEVEL = 1 - CONFIDENCE  # the family-wise error rate of a table's tests; each TOST's level
MARGIN = 0.02  # equivalence margin: accuracies within ±2 points are equivalent, if TOST shows it
TOST_CONFIDENCE = 1 - 2 * LEVEL  # two one-sided tests at 5% = a 90% two-sided interval


@dataclass(frozen=True)
class PairedComparison:
    """A's accuracy minus B's on the same n samples, with its interval and McNemar's p-value.

    `p_adjusted` is the Holm-adjusted p-value within a family of `family` tests (the raw one
    for a test shown alone); significance is judged on it.
    """

    n: int
    accuracy_a: float
    accuracy_b: float
    only_a: int  # samples A gets right and B gets wrong
    only_b: int
    difference: float
    interval: tuple[float, float]
    p_value: float
    equivalence_interval: tuple[float, float]  # the 90% interval TOST reads
    p_adjusted: float
    family: int = 1

    def significant(self, level: float = LEVEL) -> bool:
        return self.p_adjusted < level

    def equivalent(self, margin: float = MARGIN) -> bool:
        """Whether TOST shows |A - B| < margin: the 90% interval lies strictly inside it."""
        low, high = self.equivalence_interval
        return -margin < low and high < margin


def paired_comparison(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> PairedComparison:
    """Compare two per-sample correctness vectors of the same samples, in the same order."""
    if len(correct_a) != len(correct_b) or not correct_a:
        raise ValueError("a paired comparison needs two equally long, non-empty outcome lists")
    n = len(correct_a)
    both = sum(1 for a, b in zip(correct_a, correct_b, strict=True) if a and b)
    only_a = sum(1 for a, b in zip(correct_a, correct_b, strict=True) if a and not b)
    only_b = sum(1 for a, b in zip(correct_a, correct_b, strict=True) if b and not a)
    neither = n - both - only_a - only_b
    discordant = only_a + only_b
    p_value = 1.0 if discordant == 0 else float(binomtest(only_a, discordant, 0.5).pvalue)
    p1, p2 = (both + only_a) / n, (both + only_b) / n
    table = (both, only_a, only_b, neither)
    return PairedComparison(
        n=n,
        accuracy_a=p1,
        accuracy_b=p2,
        only_a=only_a,
        only_b=only_b,
        difference=p1 - p2,
        interval=_newcombe_interval(*table),
        p_value=p_value,
        equivalence_interval=_newcombe_interval(*table, confidence=TOST_CONFIDENCE),
        p_adjusted=p_value,
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given.

    The k-th smallest of m p-values is multiplied by m - k + 1; a running maximum keeps the
    adjusted values in the order of the raw ones, and none exceeds 1. Rejecting where the
    adjusted p is below 5% controls the family-wise error rate at 5% under any dependence.
    """
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def holm_family(tests: Sequence[PairedComparison]) -> list[PairedComparison]:
    """The tests with their Holm-adjusted p-values, the family being exactly `tests`."""
    adjusted = holm([t.p_value for t in tests])
    return [
        dataclasses.replace(t, p_adjusted=p, family=len(tests))
        for t, p in zip(tests, adjusted, strict=True)
    ]


def _newcombe_interval(
    a: int, b: int, c: int, d: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Newcombe's method 10 for p1 - p2 from a paired 2x2 table (a: both right, d: both wrong)."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, confidence)
    l2, u2 = wilson_interval(a + c, n, confidence)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(margins) if margins else 0.0
    lower = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    upper = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    difference = p1 - p2
    return (
        max(-1.0, difference - math.sqrt(max(lower, 0.0))),
        min(1.0, difference + math.sqrt(max(upper, 0.0))),
    )
