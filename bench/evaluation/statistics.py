"""Uncertainty of accuracies and of differences between two methods on the same samples.

- `wilson_interval` (`bench.contracts.accuracy`): the 95% Wilson score interval of a
  proportion (scipy's binomtest), which keeps its coverage near 0% and 100% where the normal
  approximation collapses to a point.
- `paired_comparison`: two classifiers judged on the same samples. The exact McNemar test
  (a two-sided binomial test on the discordant pairs) gives the p-value; the difference of the
  two accuracies gets Newcombe's hybrid score interval (method 10 of Newcombe, Statistics in
  Medicine 1998), which accounts for the pairing.

No torch here: the leaderboard uses this module too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import binomtest

from bench.contracts.accuracy import CONFIDENCE, wilson_interval


@dataclass(frozen=True)
class PairedComparison:
    """A's accuracy minus B's on the same n samples, with its interval and McNemar's p-value."""

    n: int
    accuracy_a: float
    accuracy_b: float
    only_a: int  # samples A gets right and B gets wrong
    only_b: int
    difference: float
    interval: tuple[float, float]
    p_value: float

    def significant(self, level: float = 1 - CONFIDENCE) -> bool:
        return self.p_value < level


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
    return PairedComparison(
        n=n,
        accuracy_a=p1,
        accuracy_b=p2,
        only_a=only_a,
        only_b=only_b,
        difference=p1 - p2,
        interval=_newcombe_interval(both, only_a, only_b, neither),
        p_value=p_value,
    )


def _newcombe_interval(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """Newcombe's method 10 for p1 - p2 from a paired 2x2 table (a: both right, d: both wrong)."""
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n)
    l2, u2 = wilson_interval(a + c, n)
    margins = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(margins) if margins else 0.0
    lower = (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2
    upper = (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2
    difference = p1 - p2
    return (
        max(-1.0, difference - math.sqrt(max(lower, 0.0))),
        min(1.0, difference + math.sqrt(max(upper, 0.0))),
    )
