"""A cell's numbers from its per-sample outcomes: worst-case robustness, intervals, indicators.

- `robust_acc` is the worst case over every run of the cell: a sample counts as robust only if
  it is classified correctly clean and after every attack run (the naive and the EOT run of a
  stochastic victim; restarts are merged inside the attack). Each run's own accuracy is kept
  beside it: `robust_acc_adaptive` (the attack as configured, EOT against stochastic victims)
  and `robust_acc_naive` (one draw per step; the same run for deterministic victims).
- Every accuracy has its 95% Wilson interval (`<name>_ci`, [low, high]).
- `robust_acc_by_step[k]`: the worst-case robust accuracy had the attack stopped after k steps,
  from the first step at which each run succeeded (the in-attack verdicts: for stochastic
  victims a majority over the step's EOT draws, so the last point can differ slightly from
  `robust_acc`, which re-votes the returned clouds).
- In the generalised zero-shot setting (evaluated names both seen and unseen in training),
  seen-class and unseen-class accuracy and their harmonic mean (`generalised`).
- Attack-failure indicators in `warnings`, each a sentence.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from bench.evaluation.metrics import POINTWISE, SET_DISTANCES
from bench.evaluation.statistics import wilson_interval

# "Not converged": worst-case accuracy fell by more than this over the last half of the steps.
CONVERGENCE_TOLERANCE = 0.005
ACCURACIES = ("clean_acc", "robust_acc", "robust_acc_adaptive", "robust_acc_naive")


def summarize(
    samples: dict[str, list[Any]], eps: float, steps: int | None = None
) -> dict[str, Any]:
    """Accuracies with intervals, attack success, perturbation means, the step curve, warnings.

    Attack success is the share of clean-correct samples the attack flips (in any run), or for
    a targeted attack (samples carry a `target`), the share of them classified as their target.
    """
    label = np.asarray(samples["label"])
    clean_ok = correct(samples, "clean")
    adv_pred = np.asarray(samples["adv_pred"])
    adaptive_ok = adv_pred == label
    naive_ok = np.asarray(samples.get("adv_pred_naive", adv_pred)) == label
    robust = correct(samples, "robust")
    samples["robust"] = robust.tolist()
    n = int(label.size)
    metrics: dict[str, Any] = {
        "n": n,
        "clean_acc": float(clean_ok.mean()),
        "robust_acc": float(robust.mean()),
        "robust_acc_adaptive": float(adaptive_ok.mean()),
        "robust_acc_naive": float(naive_ok.mean()),
    }
    for name in ACCURACIES:
        metrics[f"{name}_ci"] = list(wilson_interval(round(metrics[name] * n), n))
    targeted = "target" in samples
    success = adv_pred == np.asarray(samples["target"]) if targeted else ~robust
    metrics["attack_success_rate"] = float(success[clean_ok].mean()) if clean_ok.any() else 0.0
    for name in (*POINTWISE, *SET_DISTANCES, "points_added", "points_dropped"):
        if name in samples:
            metrics[f"{name}_mean"] = float(np.mean(samples[name]))
    warnings = []
    curve = robust_by_step(samples, clean_ok, steps)
    if curve is not None and steps:
        metrics["robust_acc_by_step"] = curve
        half, end = curve[steps // 2], curve[steps]
        if half - end > CONVERGENCE_TOLERANCE:
            warnings.append(
                f"not converged: robust accuracy still fell from {100 * half:.1f}% to"
                f" {100 * end:.1f}% over the last half of the {steps} steps"
            )
    # Judged on the samples the attack failed on: a fooled sample keeps its first successful
    # iterate, whose loss need not exceed the start's.
    held = ~success if targeted else robust
    if eps > 0 and "loss_start" in samples and "loss_final" in samples and held.any():
        start = np.mean(np.asarray(samples["loss_start"])[held])
        final = np.mean(np.asarray(samples["loss_final"])[held])
        if (final >= start) if targeted else (final <= start):
            direction = "lower the loss toward its targets" if targeted else "increase the loss"
            warnings.append(f"the attack did not {direction}")
    # Without a budget the clouds are the clean ones; a stochastic victim's fresh votes on them
    # may differ from the clean votes, which says nothing about the attack.
    attacked = max(metrics["robust_acc_adaptive"], metrics["robust_acc_naive"])
    if eps > 0 and attacked > metrics["clean_acc"]:
        warnings.append("accuracy under attack is above clean accuracy")
    if metrics["robust_acc_adaptive"] > metrics["robust_acc_naive"]:
        warnings.append("the adaptive (EOT) attack did worse than the naive one")
    metrics["warnings"] = warnings
    return metrics


def generalised(
    samples: dict[str, list[Any]], class_names: Sequence[str], trained: Collection[str]
) -> dict[str, float]:
    """Seen- and unseen-class accuracy and their harmonic mean (generalised zero-shot).

    Only when the evaluated classes mix names the weights were trained on with names they were
    not: predictions are then among all names, and each group's accuracy is reported apart.
    """
    seen = np.array([class_names[label] in trained for label in samples["label"]], dtype=bool)
    if seen.all() or not seen.any():
        return {}
    metrics = {}
    for outcome in ("clean", "robust"):
        right = correct(samples, outcome)
        on_seen, on_unseen = float(right[seen].mean()), float(right[~seen].mean())
        total = on_seen + on_unseen
        metrics[f"{outcome}_acc_seen"] = on_seen
        metrics[f"{outcome}_acc_unseen"] = on_unseen
        metrics[f"{outcome}_acc_harmonic"] = 2 * on_seen * on_unseen / total if total else 0.0
    return metrics


def correct(samples: dict[str, list[Any]], outcome: str) -> np.ndarray:
    """Per-sample correctness: "clean", or "robust" (clean and after every attack run)."""
    label = np.asarray(samples["label"])
    clean = np.asarray(samples["clean_pred"]) == label
    if outcome == "clean":
        return clean
    if outcome != "robust":
        raise ValueError(f"unknown outcome {outcome!r}; use 'clean' or 'robust'")
    runs = [samples["adv_pred"], samples.get("adv_pred_naive", samples["adv_pred"])]
    return clean & np.logical_and.reduce([np.asarray(run) == label for run in runs])


def robust_by_step(
    samples: dict[str, list[Any]], clean_ok: np.ndarray, steps: int | None
) -> list[float] | None:
    """Worst-case robust accuracy after k = 0..steps steps, or None without step records."""
    if not steps or "success_step" not in samples:
        return None
    firsts = [np.asarray(samples["success_step"])]
    if "success_step_naive" in samples:
        firsts.append(np.asarray(samples["success_step_naive"]))
    never = steps + 1
    first = np.min([np.where(f < 0, never, f) for f in firsts], axis=0)
    broken = first[None, :] <= np.arange(steps + 1)[:, None]
    return [float(v) for v in (clean_ok & ~broken).mean(axis=1)]
