"""Intervals and paired tests against values computed by hand, and the worst-case summary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.contracts.plugins import ThreatModel
from bench.evaluation.statistics import paired_comparison, wilson_interval
from bench.evaluation.summary import generalised, summarize


def test_wilson_interval_matches_the_closed_form() -> None:
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    z2 = 1.959963984540054**2
    assert wilson_interval(0, 50) == (0.0, pytest.approx(z2 / (50 + z2)))
    assert wilson_interval(0, 0) == (0.0, 1.0)


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
