"""Uncertainty of accuracies and of differences between two methods on the same samples.

- `wilson_interval` (`bench.contracts.accuracy`): the 95% Wilson score interval of a
  proportion (scipy's binomtest), which keeps its coverage near 0% and 100% where the normal
  approximation collapses to a point.
- `paired_comparison`: two classifiers judged on the same samples. One exact inference gives
  both the p-value and the interval, so they cannot disagree: of the n_d samples only one of
  the two gets right, A is the one for b ~ Binomial(n_d, theta), and McNemar's null is
  theta = 1/2. The p-value is the two-sided exact binomial test; the interval of the
  difference (b - c) / n = (n_d / n)(2 theta - 1) is the Clopper-Pearson interval of theta
  mapped through that line (`exact_interval`). Both read the same two tails at theta = 1/2,
  so the 95% interval excludes 0 exactly when p < 0.05. It is conditional on n_d: how
  different the two are, given how many samples they disagree on.
- `holm_family`: a table that shows many paired tests reads a single starred cell as a
  finding, so significance is judged on Holm-Bonferroni adjusted p-values over the tests the
  table shows (its family), which keeps the family-wise error rate at 5%. Its intervals are
  widened to match: with r of the m tests rejected, every interval of the family is at level
  1 - 0.05 / (m - r) (95% when all are rejected), the level of Holm's last step, so an
  interval excludes 0 exactly when its Holm-adjusted p is below 0.05 (agreement with the
  verdicts, not a claim of simultaneous coverage).
- `PairedComparison.equivalent`: a non-significant difference is not evidence of none. Two
  methods are called equivalent only by a paired TOST (two one-sided tests at 5% each): the
  90% Newcombe interval of the difference (method 10 of Newcombe, Statistics in Medicine
  1998) lies strictly inside ±`MARGIN`. Equivalence is about how large the difference can
  be, which depends on how many samples the two disagree on, so it needs an interval that
  counts that uncertainty: the exact interval, conditional on n_d, would call a pair with
  9 one-way disagreements of 500 "within 2 points", and at a true 2-point difference with
  every disagreement one way it does so about half of the time.

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
    """A's accuracy minus B's on the same n samples, with its exact interval and p-value.

    `p_adjusted` is the Holm-adjusted p-value within a family of `family` tests (the raw one
    for a test shown alone); significance is judged on it, and `interval` is at the family's
    `confidence`, so it excludes 0 exactly when the pair is significant.
    """

    n: int
    accuracy_a: float
    accuracy_b: float
    only_a: int  # samples A gets right and B gets wrong
    only_b: int
    difference: float
    interval: tuple[float, float]
    p_value: float
    equivalence_interval: tuple[float, float]  # the 90% Newcombe interval TOST reads
    p_adjusted: float
    family: int = 1
    confidence: float = CONFIDENCE  # the level of `interval`

    def significant(self) -> bool:
        return self.p_adjusted < LEVEL

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
    return PairedComparison(
        n=n,
        accuracy_a=(both + only_a) / n,
        accuracy_b=(both + only_b) / n,
        only_a=only_a,
        only_b=only_b,
        difference=(only_a - only_b) / n,
        interval=exact_interval(only_a, only_b, n),
        p_value=p_value,
        equivalence_interval=_newcombe_interval(both, only_a, only_b, neither, TOST_CONFIDENCE),
        p_adjusted=p_value,
    )


def exact_interval(
    only_a: int, only_b: int, n: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """The interval of A - B that inverts the exact McNemar test: Clopper-Pearson for theta on
    the discordant samples, mapped by (n_d / n)(2 theta - 1). With no discordant sample the
    two agree on every one: the difference is 0, and so is the interval."""
    discordant = only_a + only_b
    if discordant == 0:
        return (0.0, 0.0)
    theta = binomtest(only_a, discordant, 0.5).proportion_ci(confidence, method="exact")
    scale = discordant / n
    return (scale * (2 * theta.low - 1), scale * (2 * theta.high - 1))


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
    """The tests with their Holm-adjusted p-values, the family being exactly `tests`, and
    their intervals at the level that agrees with those verdicts (the module docstring)."""
    adjusted = holm([t.p_value for t in tests])
    rejected = sum(p < LEVEL for p in adjusted)
    confidence = 1 - LEVEL / max(len(tests) - rejected, 1)
    return [
        dataclasses.replace(
            t,
            p_adjusted=p,
            family=len(tests),
            confidence=confidence,
            interval=exact_interval(t.only_a, t.only_b, t.n, confidence),
        )
        for t, p in zip(tests, adjusted, strict=True)
    ]


def _newcombe_interval(a: int, b: int, c: int, d: int, confidence: float) -> tuple[float, float]:
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
