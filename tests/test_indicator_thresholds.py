"""Each attack-failure indicator fires exactly past the threshold its documentation states.

The thresholds live beside the indicator table (`bench.contracts.indicators`), which the docs'
"Fires when" column is generated from; here each is crossed by one sample: at the threshold
the indicator is silent, one sample past it, it fires.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest

from bench.cli import main
from bench.contracts.indicators import (
    CONVERGENCE_FALL,
    MASKING_SHARE,
    UNBOUNDED_RESIDUAL,
    ZERO_GRADIENT_SHARE,
    indicator_of,
)
from bench.contracts.plugins import ThreatModel
from bench.evaluation.statistics import wilson_interval
from bench.evaluation.summary import by_member, summarize
from bench.testing.conformance import smoke_flags

LINF = ThreatModel("linf", 0.05)


def cell(n: int, fooled: int = 0, **columns: list[Any]) -> dict[str, list[Any]]:
    """n clean-correct samples of class 0, the first `fooled` of them fooled (predicted 1)."""
    return {
        "label": [0] * n,
        "clean_pred": [0] * n,
        "adv_pred": [1] * fooled + [0] * (n - fooled),
        **columns,
    }


def fired(warnings: list[str]) -> set[str]:
    return {indicator.code for w in warnings if (indicator := indicator_of(w)) is not None}


def test_not_converged_needs_a_fall_of_more_than_its_share_and_more_than_one_sample() -> None:
    n, steps = 400, 10
    at_threshold = round(CONVERGENCE_FALL * n)  # 2 samples: exactly the allowed fall

    def late(count: int, size: int = n) -> set[str]:
        success_step = [9] * count + [-1] * (size - count)  # fooled after the middle step
        return fired(
            summarize(cell(size, count, success_step=success_step), LINF, steps)["warnings"]
        )

    assert "not_converged" not in late(at_threshold)
    assert "not_converged" in late(at_threshold + 1)
    assert "not_converged" not in late(1, size=100)  # 1 point, but one sample is not a trend
    assert "not_converged" in late(2, size=100)


def test_a_sequence_is_judged_converged_member_by_member() -> None:
    """`standard`'s members share one step axis; each is judged on its own stretch of it."""
    n, members = 400, {"apgd-ce": 10, "apgd-dlr-t": 10, "random-search": 100}
    over = round(CONVERGENCE_FALL * n) + 1

    def late(step: int) -> list[str]:
        success_step = [step] * over + [-1] * (n - over)
        samples = cell(n, over, success_step=success_step, fooled_by=[0] * over + [-1] * (n - over))
        return summarize(samples, LINF, sum(members.values()), members)["warnings"]

    (early,) = late(9)  # in the last half of the first member's 10 steps
    assert early.startswith("apgd-ce: not converged") and indicator_of(early) is not None
    assert late(4) == []  # in its first half: that member had converged
    (search,) = late(20 + 51)  # the 52nd of random search's 100 steps: past its middle
    assert search.startswith("random-search: not converged")
    assert late(20 + 50) == []  # at its middle step exactly: nothing fell after it
    assert late(15) == []  # the DLR member's first half


def test_unbounded_left_robust_fires_when_the_interval_stays_above_the_residual() -> None:
    n = 300
    first = next(k for k in range(n) if wilson_interval(k, n)[0] > UNBOUNDED_RESIDUAL)
    unbounded = ThreatModel("unbounded", penalised=("l2",))

    def robust(count: int) -> set[str]:
        return fired(summarize(cell(n, n - count), unbounded)["warnings"])

    assert "unbounded_left_robust" not in robust(first - 1)
    assert "unbounded_left_robust" in robust(first)
    assert "unbounded_left_robust" not in fired(summarize(cell(n, n - first), LINF)["warnings"])


def test_zero_gradient_fires_past_its_share_of_the_clean_correct_clouds() -> None:
    n = 10
    at_threshold = round(ZERO_GRADIENT_SHARE * n)

    def flat(count: int) -> set[str]:
        zero = [1] * count + [0] * (n - count)
        return fired(summarize(cell(n, zero_gradient=zero), LINF)["warnings"])

    assert "zero_gradient" not in flat(at_threshold)
    assert "zero_gradient" in flat(at_threshold + 1)


def test_loss_not_increased_fires_when_the_final_loss_is_not_above_the_start() -> None:
    def loss(final: float, **extra: list[Any]) -> set[str]:
        columns = {"loss_start": [1.0] * 4, "loss_final": [final] * 4, **extra}
        return fired(summarize(cell(4, **columns), LINF)["warnings"])

    assert "loss_not_increased" in loss(1.0)
    assert "loss_not_increased" not in loss(1.0 + 1e-6)
    targeted = {"target": [1] * 4}  # a targeted attack must lower its loss instead
    assert "loss_not_increased" in loss(1.0, **targeted)
    assert "loss_not_increased" not in loss(1.0 - 1e-6, **targeted)


# Exact two-sided McNemar: 5 discordant samples one way give p = 0.0625, 6 give p = 0.03125.
SILENT, SIGNIFICANT = 5, 6


@pytest.mark.parametrize("run", ["naive", "unaware"])
def test_a_weaker_adaptive_run_fires_on_a_significant_mcnemar_test(run: str) -> None:
    n = 20

    def better(count: int) -> set[str]:
        other = [1] * count + [0] * (n - count)  # the other run fooled these; adaptive did not
        return fired(summarize(cell(n, **{f"adv_pred_{run}": other}), LINF)["warnings"])

    assert f"{run}_beat_adaptive" not in better(SILENT)
    assert f"{run}_beat_adaptive" in better(SIGNIFICANT)


def test_successes_that_fresh_draws_undo_fire_on_a_significant_mcnemar_test() -> None:
    n = 20

    def undone(count: int) -> set[str]:
        judged = [3] * count + [-1] * (n - count)  # fooled on the attack's own draws only
        return fired(summarize(cell(n, success_step=judged), LINF, steps=10)["warnings"])

    assert "successes_do_not_hold" not in undone(SILENT)
    assert "successes_do_not_hold" in undone(SIGNIFICANT)


def test_a_gradient_free_member_fires_past_its_share_of_all_samples() -> None:
    n = 300
    at_threshold = round(MASKING_SHARE * n)
    members = [("apgd", "gradient"), ("random_search", "random")]

    def caught(count: int, order: list[tuple[str, str]] = members) -> set[str]:
        fooled_by = [1] * count + [0] * 50 + [-1] * (n - count - 50)
        return fired(by_member(cell(n, count + 50, fooled_by=fooled_by), order)["warnings"])

    assert "gradient_free_member_won" not in caught(at_threshold)
    assert "gradient_free_member_won" in caught(at_threshold + 1)
    first_without_gradients = list(reversed(members))  # nothing before it to be masked
    assert "gradient_free_member_won" not in caught(n // 2, first_without_gradients)


def test_randomness_not_averaged_fires_on_one_draw_against_a_stochastic_victim() -> None:
    """A real cell: SRS makes the victim stochastic; PGD with one draw per step ignores it."""

    def fires(eot_draws: int, eps: float) -> bool:
        run = ["run", "--method", "ulip", *smoke_flags("methods", "ulip")]
        run += ["--set", "dataset.test_per_class=1", "--defense", "srs", "--set", "defense.drop=8"]
        run += ["--attack", "pgd", "--set", "attack.steps=1", "--set", f"attack.eps={eps}"]
        with contextlib.redirect_stdout(io.StringIO()):
            assert main([*run, "--set", f"attack.eot_draws={eot_draws}"]) == 0
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["results", "--format", "json"]) == 0
        (record,) = [
            r for r in json.loads(out.getvalue()) if r["cell"]["attack"]["config"].get("eps") == eps
        ]
        return "randomness_not_averaged" in fired(record["metrics"]["warnings"])

    assert fires(eot_draws=1, eps=0.0131)
    assert not fires(eot_draws=2, eps=0.0132)


# The across-cell indicators (budget_did_not_lower, black_box_beat_white_box) are crossed in
# tests/test_defended_cells.py, from stored records.


def test_not_converged_stays_silent_on_a_finished_attack() -> None:
    """At 0% robust no cloud is left to fool: a late fall is the attack finishing its work."""
    n, steps = 400, 10
    late_all = summarize(cell(n, n, success_step=[9] * n), LINF, steps)
    assert late_all["robust_acc"] == 0 and "not_converged" not in fired(late_all["warnings"])
    one_left = summarize(cell(n, n - 1, success_step=[9] * (n - 1) + [-1]), LINF, steps)
    assert "not_converged" in fired(one_left["warnings"])  # one cloud survives: still falling
    # The in-attack curve keeps 397 of 400 but the returned clouds' fresh votes fool them all.
    revoted = summarize(cell(n, n, success_step=[9] * 3 + [-1] * (n - 3)), LINF, steps)
    assert revoted["robust_acc_by_step"][-1] > 0 and revoted["robust_acc"] == 0
    assert "not_converged" not in fired(revoted["warnings"])


def test_a_sequence_member_that_fools_the_last_clouds_is_not_flagged() -> None:
    n, members = 400, {"apgd-ce": 10, "apgd-dlr-t": 10, "random-search": 100}
    early = round(CONVERGENCE_FALL * n) + 1  # fooled late by the first member
    success_step = [9] * early + [20 + 60] * (n - early)  # random search fools the rest late
    fooled_by = [0] * early + [2] * (n - early)
    samples = cell(n, n, success_step=success_step, fooled_by=fooled_by)
    metrics = summarize(samples, LINF, sum(members.values()), members)
    assert metrics["robust_acc"] == 0 and metrics["warnings"] == []
