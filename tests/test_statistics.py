"""Intervals and paired tests against values computed by hand, and the worst-case summary."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta, binomtest

from bench.contracts.plugins import ThreatModel
from bench.evaluation.statistics import (
    LEVEL,
    MARGIN,
    PairedComparison,
    _newcombe_interval,
    exact_interval,
    holm,
    holm_family,
    paired_comparison,
    wilson_interval,
)
from bench.evaluation.summary import generalised, summarize


def test_wilson_interval_matches_the_closed_form() -> None:
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    z2 = 1.959963984540054**2
    assert wilson_interval(0, 50) == (0.0, pytest.approx(z2 / (50 + z2)))
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_interval_equals_scipys_on_a_grid() -> None:
    for n in (*range(1, 41), 97, 100, 1000, 2468):
        for successes in sorted({*range(0, min(n, 40) + 1), n // 2, n - 1, n}):
            for confidence in (0.5, 0.9, 0.95, 0.99, 0.999):
                scipys = binomtest(successes, n).proportion_ci(confidence, method="wilson")
                low, high = wilson_interval(successes, n, confidence)
                assert abs(low - scipys.low) < 1e-12 and abs(high - scipys.high) < 1e-12


def test_exact_mcnemar_p_value_and_a_paired_interval_near_wald_for_large_n() -> None:
    # 9 samples only A gets right, 1 only B: two-sided exact p = 2 * (1 + 10) / 2^10.
    a = [True] * 9 + [False] + [True] * 20
    b = [False] * 9 + [True] + [True] * 20
    small = paired_comparison(a, b)
    assert (small.only_a, small.only_b) == (9, 1)
    assert small.p_value == pytest.approx(22 / 1024)
    assert small.significant() and small.interval[0] < small.difference < small.interval[1]

    both, only_a, only_b, neither = 500, 60, 40, 400
    a = [True] * (both + only_a) + [False] * (only_b + neither)
    b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
    large = paired_comparison(a, b)
    n = len(a)
    wald = math.sqrt((only_a + only_b) - (only_a - only_b) ** 2 / n) / n * 1.959964
    assert large.difference == pytest.approx(0.02)
    assert large.interval[0] == pytest.approx(0.02 - wald, abs=2e-3)
    assert large.interval[1] == pytest.approx(0.02 + wald, abs=2e-3)
    same = paired_comparison(a, a)
    assert same.p_value == 1.0 and not same.significant() and same.difference == 0


def test_holm_by_hand() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, then 0.04 raised to 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == []


@pytest.mark.parametrize("seed", range(5))
def test_holm_is_at_least_raw_monotone_and_bonferroni_for_the_smallest(seed: int) -> None:
    raw = list(np.random.default_rng(seed).uniform(0, 0.2, size=12))
    adjusted = holm(raw)
    assert all(a >= r for a, r in zip(adjusted, raw, strict=True))
    by_rank = [adjusted[i] for i in np.argsort(raw)]
    assert by_rank == sorted(by_rank)
    smallest = int(np.argmin(raw))
    assert adjusted[smallest] == pytest.approx(min(1.0, len(raw) * raw[smallest]))


def outcomes(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[bool], list[bool]]:
    a = [True] * (both + only_a) + [False] * (only_b + neither)
    b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
    return a, b


def test_a_family_judges_significance_on_the_adjusted_p() -> None:
    lone = paired_comparison(*outcomes(20, 9, 1, 0))  # exact p = 22 / 1024, about 0.021
    assert lone.significant() and lone.family == 1 and lone.p_adjusted == lone.p_value
    quiet = paired_comparison(*outcomes(20, 1, 1, 0))
    family = holm_family([lone, quiet, quiet])
    assert [t.family for t in family] == [3, 3, 3]
    assert family[0].p_adjusted == pytest.approx(3 * lone.p_value)
    assert family[0].p_value == lone.p_value and not family[0].significant()


def test_tost_equivalence_at_the_margin() -> None:
    # 500 clouds, A right on 5 or 6 that B misses: the 90% interval's top end is 1.74 or 2.01 pp.
    inside = paired_comparison(*outcomes(200, 5, 0, 295))
    outside = paired_comparison(*outcomes(200, 6, 0, 294))
    assert inside.equivalence_interval[1] == pytest.approx(0.01738, abs=1e-4)
    assert outside.equivalence_interval[1] == pytest.approx(0.02007, abs=1e-4)
    assert inside.equivalent() and not outside.equivalent()
    assert (inside.p_value, outside.p_value) == (0.0625, 0.03125)
    high = inside.equivalence_interval[1]
    assert inside.equivalent(margin=high + 1e-9) and not inside.equivalent(margin=high)
    # The exact interval takes the 5 disagreements as known, so it ends at 5 / 500 = 1 point;
    # TOST's Newcombe interval reaches past it: more samples could have disagreed.
    assert inside.interval[1] == pytest.approx(0.01)
    assert inside.interval[1] < inside.equivalence_interval[1]
    # The same 1-point difference on 100 samples is not equivalent: the data cannot tell.
    few = paired_comparison(*outcomes(40, 1, 0, 59))
    assert few.difference == pytest.approx(inside.difference) and not few.equivalent(MARGIN)


def excludes_zero(test: PairedComparison) -> bool:
    low, high = test.interval
    return low > 0 or high < 0


def test_the_exact_interval_is_clopper_pearson_on_the_discordant_samples() -> None:
    # 9 of 10 disagreements go to A on 30 samples: theta's bounds are beta quantiles.
    low, high = exact_interval(9, 1, 30)
    theta_low, theta_high = beta.ppf(0.025, 9, 2), beta.ppf(0.975, 10, 1)
    assert low == pytest.approx(10 / 30 * (2 * theta_low - 1))
    assert high == pytest.approx(10 / 30 * (2 * theta_high - 1))
    agree = paired_comparison(*outcomes(20, 0, 0, 10))  # no sample tells them apart
    assert agree.interval == (0.0, 0.0) and agree.p_value == 1.0 and not agree.significant()


@pytest.mark.parametrize("concordant", [1, 13, 480])
def test_the_interval_excludes_zero_exactly_when_the_test_rejects(concordant: int) -> None:
    both = concordant // 2
    for discordant in range(0, 61):
        for only_a in range(discordant + 1):
            only_b = discordant - only_a
            test = paired_comparison(*outcomes(both, only_a, only_b, concordant - both))
            assert excludes_zero(test) == test.significant() == (test.p_value < LEVEL)
            assert test.interval[0] <= test.difference <= test.interval[1]


@pytest.mark.parametrize("seed", range(20))
def test_a_holm_familys_intervals_exclude_zero_exactly_when_the_adjusted_test_rejects(
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    raw = []
    for _ in range(int(rng.integers(2, 15))):
        discordant = int(rng.integers(0, 50))
        only_a = int(rng.binomial(discordant, rng.uniform(0.1, 0.9)))
        raw.append(paired_comparison(*outcomes(100, only_a, discordant - only_a, 50)))
    family = holm_family(raw)
    rejected = sum(t.significant() for t in family)
    for test in family:
        assert test.confidence == pytest.approx(1 - LEVEL / max(len(family) - rejected, 1))
        assert excludes_zero(test) == test.significant()


def test_the_case_where_newcombe_and_mcnemar_disagreed_now_reads_one_way() -> None:
    # 7 only B gets right, 1 only A, 500 samples: exact p = 2 * 9 / 256 = 0.0703, yet
    # Newcombe's 95% interval, about [-2.4, -0.1] points, excluded 0.
    test = paired_comparison(*outcomes(200, 1, 7, 292))
    assert test.p_value == pytest.approx(18 / 256) and not test.significant()
    assert _newcombe_interval(200, 1, 7, 292, 0.95)[1] < 0
    assert test.interval[0] < 0 < test.interval[1]


def test_equivalence_does_not_take_the_disagreements_as_known() -> None:
    # 9 of 500 right only for A: the exact interval, given those 9, ends at 1.8 points, inside
    # the margin even at 90%; but 9 is a draw too, and a 2-point difference often yields 9.
    one_way = paired_comparison(*outcomes(200, 9, 0, 291))
    low, high = exact_interval(9, 0, 500, 0.9)
    assert -MARGIN < low and high == pytest.approx(0.018) and high < MARGIN
    assert not one_way.equivalent()


def samples(**columns: list[int]) -> dict[str, list[int]]:
    base = {"label": [0, 0, 0, 0], "clean_pred": [0, 0, 0, 1], "adv_pred": [0, 1, 0, 1]}
    return {**base, **columns}


def test_a_sample_is_robust_only_if_it_survives_every_run() -> None:
    metrics = summarize(samples(adv_pred_naive=[1, 0, 0, 1]), ThreatModel("linf", 0.05))
    assert metrics["clean_acc"] == 0.75
    assert metrics["robust_acc_adaptive"] == 0.5 and metrics["robust_acc_naive"] == 0.5
    assert metrics["robust_acc"] == 0.25  # only sample 2 survives both runs
    assert metrics["attack_success_rate"] == pytest.approx(2 / 3)
    low, high = metrics["robust_acc_ci"]
    assert low < 0.25 < high and metrics["n"] == 4


def test_robust_accuracy_by_step_and_the_convergence_indicator() -> None:
    # Sample 0 falls at step 9 of 10 (late), sample 1 at step 2; 2 never; 3 is wrong clean.
    late = summarize(
        samples(success_step=[9, 2, -1, 0], adv_pred=[1, 1, 0, 1]),
        ThreatModel("linf", 0.05),
        steps=10,
    )
    curve = late["robust_acc_by_step"]
    assert len(curve) == 11 and curve[0] == 0.75 and curve[2] == 0.5 and curve[10] == 0.25
    assert curve[10] == late["robust_acc"]
    # One late success is not a trend; two are.
    assert not any(w.startswith("not converged") for w in late["warnings"])
    twice = {
        "label": [0] * 8,
        "clean_pred": [0] * 7 + [1],
        "adv_pred": [1, 1, 1, 0, 0, 0, 0, 1],
        "success_step": [9, 8, 2, -1, -1, -1, -1, 0],
    }
    assert any(
        w.startswith("not converged")
        for w in summarize(twice, ThreatModel("linf", 0.05), steps=10)["warnings"]
    )
    early = summarize(
        samples(success_step=[3, 2, -1, 0], adv_pred=[1, 1, 0, 1]),
        ThreatModel("linf", 0.05),
        steps=10,
    )
    assert not any(w.startswith("not converged") for w in early["warnings"])


def test_loss_indicator_follows_the_attack_direction() -> None:
    raised = {"loss_start": [1.0] * 4, "loss_final": [2.0] * 4}
    assert summarize(samples(**raised), ThreatModel("linf", 0.05))["warnings"] == []
    # A targeted attack lowers the loss toward its targets: success must not be flagged.
    lowered = {"loss_start": [2.0] * 4, "loss_final": [0.1] * 4, "target": [1, 1, 1, 1]}
    assert summarize(samples(**lowered), ThreatModel("linf", 0.05))["warnings"] == []
    stuck = {**lowered, "loss_final": [3.0] * 4}
    warnings = summarize(samples(**stuck), ThreatModel("linf", 0.05))["warnings"]
    assert warnings == ["the attack did not lower the loss toward its targets"]
    assert np.isclose(
        summarize(samples(**stuck), ThreatModel("linf", 0.05))["attack_success_rate"], 1 / 3
    )


def test_generalised_setting_reports_seen_unseen_and_their_harmonic_mean() -> None:
    names = ("chair", "toilet")
    outcome = {"label": [0, 0, 1, 1], "clean_pred": [0, 0, 1, 0], "adv_pred": [0, 1, 1, 0]}
    metrics = generalised(outcome, names, trained={"chair"})
    assert metrics["clean_acc_seen"] == 1.0 and metrics["clean_acc_unseen"] == 0.5
    assert metrics["clean_acc_harmonic"] == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert metrics["robust_acc_seen"] == 0.5 and metrics["robust_acc_unseen"] == 0.5
    assert generalised(outcome, names, trained={"chair", "toilet"}) == {}  # all seen
    assert generalised(outcome, names, trained=set()) == {}  # all unseen: plain zero-shot
