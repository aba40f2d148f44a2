"""A cell's numbers from its per-sample outcomes: worst-case robustness, intervals, indicators.

- `robust_acc` is the worst case over every run of the cell: a sample counts as robust only if
  it is classified correctly clean and after every attack run (`bench.evaluation.cell`: the
  adaptive run, the naive one against a stochastic victim, the defense-unaware one behind a
  defense; restarts and members of a sequence are merged inside the attack). Each run's own
  accuracy is kept beside it: `robust_acc_adaptive`, `robust_acc_naive` (the same run for
  deterministic victims) and, behind a defense, `robust_acc_unaware`. Only clean-correct
  samples are attacked, so each of these also counts a sample right only if it is right clean.
- Perturbation sizes (`<size>_mean`) are means over the clean-correct samples, the attacked
  ones; the others kept their clean clouds.
- Every accuracy has its 95% Wilson interval (`<name>_ci`, [low, high]).
- `robust_acc_by_step[k]`: the worst-case robust accuracy had the attack stopped after k steps,
  from the first step at which each run succeeded (the in-attack verdicts: for stochastic
  victims a majority over the step's EOT draws, so the last point can differ slightly from
  `robust_acc`, which re-votes the returned clouds).
- `robust_acc_by_size`: for attacks that penalise a distance instead of bounding it (C&W,
  kNN), robust accuracy as a function of the perturbation size, from each sample's returned
  (minimal successful) perturbation.
- In the generalised zero-shot setting (evaluated names both seen and unseen in training),
  seen-class and unseen-class accuracy and their harmonic mean (`generalised`).
- Attack-failure indicators (`bench.contracts.indicators`) in `warnings`, each its sentence.
  Those that compare two runs of the same samples fire only on a significant exact McNemar
  test, so chance disagreements of a stochastic victim stay quiet.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np

from bench.contracts.accuracy import (
    SIZE_METRIC,
    attack_success,
    correct,
    harmonic_mean,
    robust_after,
    robust_by_size,
    run_correct,
    sample_metrics,
    statistic,
)
from bench.contracts.concepts import seen_names
from bench.contracts.indicators import (
    CONVERGENCE_FALL,
    MASKING_SHARE,
    UNBOUNDED_RESIDUAL,
    ZERO_GRADIENT_SHARE,
    warn,
)
from bench.contracts.plugins import ThreatModel
from bench.evaluation.statistics import paired_comparison


def summarize(
    samples: dict[str, list[Any]],
    threat: ThreatModel,
    steps: int | None = None,
    member_steps: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Accuracies with intervals, attack success, perturbation means, curves, warnings.

    Attack success is the share of clean-correct samples the attack flips (in any run), or for
    a targeted attack (samples carry a `target`), the share of them classified as their target.
    The numbers come from `bench.contracts.accuracy`; this adds the curves that need the threat
    model and the attack-failure indicators. A sequence of attacks gives `member_steps`, each
    member's stretch of its `steps` in order: each member's convergence is judged on its own.
    """
    clean_ok = correct(samples, "clean")
    robust = correct(samples, "robust")
    samples["robust"] = robust.tolist()
    n = len(samples["label"])
    metrics = sample_metrics(samples, steps)
    run_ok = run_correct(samples)
    targeted = "target" in samples
    success = attack_success(samples, robust)
    budget = _has_budget(threat)
    warnings = []
    curve = metrics.get("robust_acc_by_step")
    if curve is not None and steps and metrics["robust_acc"] > 0:  # 0: no cloud left to fool
        warnings += _not_converged(curve, n, member_steps or {"": steps})
    warnings += _successes_not_holding(samples, clean_ok, success)
    if "zero_gradient" in samples and clean_ok.any():
        flat = int((clean_ok & (statistic(samples, "zero_gradient") == 1)).sum())
        if flat > ZERO_GRADIENT_SHARE * int(clean_ok.sum()):
            warnings.append(warn("zero_gradient", flat=flat, total=int(clean_ok.sum())))
    by_size = _by_size(samples, threat)
    if by_size is not None:
        metrics["robust_acc_by_size"] = by_size
    # Judged on the samples the attack failed on: a fooled sample keeps its first successful
    # iterate, whose loss need not exceed the start's.
    held = ~success if targeted else robust
    if budget and "loss_start" in samples and "loss_final" in samples and held.any():
        start = np.mean(statistic(samples, "loss_start")[held])
        final = np.mean(statistic(samples, "loss_final")[held])
        if (final >= start) if targeted else (final <= start):
            direction = "lower the loss toward its targets" if targeted else "increase the loss"
            warnings.append(warn("loss_not_increased", direction=direction))
    if not threat.bounded and metrics["robust_acc_ci"][0] > UNBOUNDED_RESIDUAL:
        robust_share = f"{100 * metrics['robust_acc']:.1f}"
        warnings.append(warn("unbounded_left_robust", robust=robust_share))
    warnings += _worse_run(run_ok, "naive")
    warnings += _worse_run(run_ok, "unaware")
    metrics["warnings"] = warnings
    return metrics


def _not_converged(curve: Sequence[float], n: int, stretches: Mapping[str, int]) -> list[str]:
    """The convergence indicator of each stretch of the step axis (the attack's, or each
    member's of a sequence, labelled with its name): robust accuracy still fell over its last
    half. Counted in samples, so a fall of exactly the allowed share is not "more" by rounding;
    more than one, so a single late success on a small split is not a trend. A stretch that
    ends at 0 finished: nothing was left to converge."""
    found, start = [], 0
    for name, steps in stretches.items():
        half, end = curve[start + steps // 2], curve[start + steps]
        fallen = round((half - end) * n)
        if end > 0 and fallen > CONVERGENCE_FALL * n and fallen > 1:
            sentence = warn(
                "not_converged", half=f"{100 * half:.1f}", end=f"{100 * end:.1f}", steps=steps
            )
            found.append(f"{name}: {sentence}" if name else sentence)
        start += steps
    return found


def by_member(samples: dict[str, list[Any]], members: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """For a sequence of attacks (name, access) with a per-sample `fooled_by`: robust accuracy
    after each member, and a warning when a member without gradients fooled samples the
    gradient members before it had not: more than MASKING_SHARE of all n (gradient masking;
    AutoAttack's Square lowers honest models' robust accuracy by well under a point)."""
    fooled_by = statistic(samples, "fooled_by")
    clean_ok = correct(samples, "clean")
    after = robust_after(samples, [name for name, _ in members])
    warnings = []
    for index, (name, access) in enumerate(members):
        caught = int((clean_ok & (fooled_by == index)).sum())
        gradient_before = any(a == "gradient" for _, a in members[:index])
        if access != "gradient" and gradient_before and caught > MASKING_SHARE * len(fooled_by):
            warnings.append(warn("gradient_free_member_won", member=name, caught=caught))
    return {"robust_acc_after": after, "warnings": warnings}


def _successes_not_holding(
    samples: dict[str, list[Any]], clean_ok: np.ndarray, success: np.ndarray
) -> list[str]:
    """A warning if significantly more samples were judged fooled inside the attack (on its own
    draws of a stochastic victim) than on the fresh votes that judge the returned clouds."""
    if "success_step" not in samples:
        return []
    judged = clean_ok & (statistic(samples, "success_step") >= 0)
    test = paired_comparison(judged.tolist(), (clean_ok & success).tolist())
    if test.difference > 0 and test.significant():
        return [warn("successes_do_not_hold", count=test.only_a, p=f"{test.p_value:.2g}")]
    return []


def order_changed_verdicts(samples: dict[str, list[Any]]) -> list[str]:
    """A warning if reordering the points alone (no point moved) misclassified significantly
    many clean-correct clouds. Only meaningful for a deterministic victim: a stochastic one's
    fresh votes flip some verdicts whatever the order."""
    clean_ok = correct(samples, "clean")
    test = paired_comparison(clean_ok.tolist(), correct(samples, "robust").tolist())
    if test.difference > 0 and test.significant():
        return [
            warn(
                "order_changes_verdicts",
                flipped=test.only_a,
                total=int(clean_ok.sum()),
                p=f"{test.p_value:.2g}",
            )
        ]
    return []


def _has_budget(threat: ThreatModel) -> bool:
    """Whether the threat model lets the attack change anything at all."""
    changes = threat.points_added or threat.points_dropped or threat.reordered
    if changes or threat.norm == "unbounded":
        return True
    return threat.norm != "none" and threat.eps > 0


def _worse_run(run_ok: dict[str, np.ndarray], run: str) -> list[str]:
    """The indicator that the run ("naive", "unaware") left significantly fewer samples robust
    than the adaptive run (exact McNemar on the same samples)."""
    other = f"robust_acc_{run}"
    if other not in run_ok:
        return []
    test = paired_comparison(run_ok["robust_acc_adaptive"].tolist(), run_ok[other].tolist())
    if test.difference > 0 and test.significant():
        accuracies = {
            run: f"{100 * test.accuracy_b:.1f}",
            "adaptive": f"{100 * test.accuracy_a:.1f}",
        }
        return [warn(f"{run}_beat_adaptive", **accuracies, p=f"{test.p_value:.2g}")]
    return []


def _by_size(samples: dict[str, list[Any]], threat: ThreatModel) -> dict[str, Any] | None:
    """Robust accuracy as a function of the perturbation size, for attacks that penalise a
    distance instead of bounding it (`bench.contracts.accuracy.robust_by_size`)."""
    if not threat.penalised:
        return None
    metric = SIZE_METRIC.get(threat.penalised[0])
    if metric is None or metric not in samples:
        return None
    return robust_by_size(samples, metric)


def protocol_metrics(
    seen: Sequence[str] | None, samples: dict[str, list[Any]], class_names: Sequence[str]
) -> dict[str, Any]:
    """Zero-shot only when the training classes have none of the evaluated ones (`seen`:
    those they have, by concept; None: unknown, any name may have been seen, so open
    vocabulary and never zero-shot); seen/unseen accuracies when the evaluated classes mix."""
    metrics: dict[str, Any] = {"zero_shot": seen is not None and len(seen) == 0}
    if seen is None:
        metrics["open_vocabulary"] = True
    metrics.update(generalised(samples, class_names, set(seen or ())))
    return metrics


def generalised(
    samples: dict[str, list[Any]], class_names: Sequence[str], trained: Collection[str]
) -> dict[str, float]:
    """Seen- and unseen-class accuracy and their harmonic mean (generalised zero-shot).

    Only when the evaluated classes mix names the weights were trained on with names they were
    not: predictions are then among all names, and each group's accuracy is reported apart.
    A name counts as trained on by concept (`bench.contracts.concepts`): a synonym or a
    hypernym in training counts too.
    """
    known = set(seen_names(class_names, trained))
    seen = np.array([class_names[label] in known for label in samples["label"]], dtype=bool)
    if seen.all() or not seen.any():
        return {}
    metrics = {}
    for outcome in ("clean", "robust"):
        right = correct(samples, outcome)
        on_seen, on_unseen = float(right[seen].mean()), float(right[~seen].mean())
        metrics[f"{outcome}_acc_seen"] = on_seen
        metrics[f"{outcome}_acc_unseen"] = on_unseen
        metrics[f"{outcome}_acc_harmonic"] = harmonic_mean(on_seen, on_unseen)
    return metrics
