"""The numbers a cell's per-sample outcomes determine: accuracies, intervals, means, curves.

Pure arithmetic on a record's per-sample columns, without torch. The evaluation computes a
cell's metrics with it (`bench.evaluation.summary`, which documents what each number means),
and the store computes them again from the stored samples to check every record it reads
(`bench.storage.validation`): one implementation, so a stored number its samples do not give
is never served.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

CONFIDENCE = 0.95
ACCURACIES = ("clean_acc", "robust_acc", "robust_acc_adaptive", "robust_acc_naive")
RUN_COLUMNS = {
    "adv_pred": "robust_acc_adaptive",
    "adv_pred_naive": "robust_acc_naive",
    "adv_pred_unaware": "robust_acc_unaware",
}
# The per-sample columns of `bench.evaluation.metrics` (which needs torch; this module must not).
PERTURBATION_COLUMNS = (
    "linf",
    "l2",
    "point_l2",
    "points_changed",
    "chamfer_sq_two_sided",
    "hausdorff_sq_adv_to_clean",
    "points_added",
    "points_dropped",
)
SIZE_POINTS = 20  # points of the robust-accuracy-versus-size curve
# The per-sample column of each distance an attack may penalise, for that curve.
SIZE_METRIC = {
    "l2": "l2",
    "chamfer": "chamfer_sq_two_sided",
    "hausdorff": "hausdorff_sq_adv_to_clean",
}


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The 95% Wilson interval (or another `confidence`) of `successes` out of `n` (the whole
    [0, 1] when n = 0).

    In closed form (Newcombe 1998, the formula scipy's `proportion_ci(method="wilson")` uses,
    ends pinned at 0 and 1 like its): every record read from the store recomputes these, and
    importing scipy.stats for them would cost a stored `bench run` more than the rest of it.
    """
    if n == 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + 0.5 * confidence)
    p = successes / n
    denominator = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denominator
    delta = z / denominator * math.sqrt(4 * n * p * (1 - p) + z**2)
    low = 0.0 if successes == 0 else center - delta
    high = 1.0 if successes == n else center + delta
    return (low, high)


def sample_metrics(samples: dict[str, list[Any]], steps: int | None = None) -> dict[str, Any]:
    """Every metric the per-sample columns determine alone: n, the accuracies of the cell and of
    each attack run with their intervals, attack success, perturbation means and, with the
    attack's step count, robust accuracy by step."""
    label = np.asarray(samples["label"])
    clean_ok = correct(samples, "clean")
    robust = correct(samples, "robust")
    n = int(label.size)
    metrics: dict[str, Any] = {
        "n": n,
        "clean_acc": float(clean_ok.mean()),
        "robust_acc": float(robust.mean()),
    }
    for name, right in run_correct(samples).items():
        metrics[name] = float(right.mean())
    for name in (*ACCURACIES, *(["robust_acc_unaware"] if "robust_acc_unaware" in metrics else [])):
        metrics[f"{name}_ci"] = list(wilson_interval(round(metrics[name] * n), n))
    success = attack_success(samples, robust)
    metrics["attack_success_rate"] = float(success[clean_ok].mean()) if clean_ok.any() else 0.0
    for name in PERTURBATION_COLUMNS:
        if name in samples:
            sizes = np.asarray(samples[name], dtype=float)[clean_ok]
            metrics[f"{name}_mean"] = float(sizes.mean()) if sizes.size else 0.0
    curve = robust_by_step(samples, clean_ok, steps)
    if curve is not None:
        metrics["robust_acc_by_step"] = curve
    return metrics


def run_correct(samples: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    """Per attack run, which samples it left correct (clean-wrong samples keep their clean
    verdict); the naive run is the adaptive one when the victim is deterministic."""
    label = np.asarray(samples["label"])
    adv_pred = samples["adv_pred"]
    return {
        name: np.asarray(samples.get(column, adv_pred)) == label
        for column, name in RUN_COLUMNS.items()
        if column in samples or name == "robust_acc_naive"
    }


def attack_success(samples: dict[str, list[Any]], robust: np.ndarray) -> np.ndarray:
    """Per sample, whether the attack succeeded: classified as its target for a targeted attack
    (the samples carry a `target`), not robust otherwise."""
    if "target" in samples:
        return np.asarray(samples["adv_pred"]) == statistic(samples, "target")
    return ~robust


def statistic(samples: dict[str, list[Any]], column: str) -> np.ndarray:
    """A per-sample attack statistic as floats, NaN where it does not exist (a sample wrong
    clean is never attacked): NaN compares false, and only clean-correct samples are read."""
    return np.array([np.nan if v is None else v for v in samples[column]], dtype=float)


def correct(samples: dict[str, list[Any]], outcome: str) -> np.ndarray:
    """Per-sample correctness: "clean", or "robust" (clean and after every attack run)."""
    label = np.asarray(samples["label"])
    clean = np.asarray(samples["clean_pred"]) == label
    if outcome == "clean":
        return clean
    if outcome != "robust":
        raise ValueError(f"unknown outcome {outcome!r}; use 'clean' or 'robust'")
    runs = [samples[column] for column in RUN_COLUMNS if column in samples]
    return clean & np.logical_and.reduce([np.asarray(run) == label for run in runs])


def robust_by_step(
    samples: dict[str, list[Any]], clean_ok: np.ndarray, steps: int | None
) -> list[float] | None:
    """Worst-case robust accuracy after k = 0..steps steps, or None without step records."""
    if not steps or "success_step" not in samples:
        return None
    firsts = [statistic(samples, "success_step")]
    if "success_step_naive" in samples:
        firsts.append(statistic(samples, "success_step_naive"))
    never = steps + 1
    first = np.min([np.where(f < 0, never, f) for f in firsts], axis=0)
    broken = first[None, :] <= np.arange(steps + 1)[:, None]
    return [float(v) for v in (clean_ok & ~broken).mean(axis=1)]


def robust_by_size(samples: dict[str, list[Any]], metric: str) -> dict[str, Any] | None:
    """Robust accuracy at SIZE_POINTS perturbation sizes of the column `metric`: a sample counts
    as broken at size r when the attack fooled it with a perturbation of size at most r. None
    when the attack fooled no sample."""
    clean_ok = correct(samples, "clean")
    size = np.asarray(samples[metric], dtype=float)
    broken = clean_ok & ~correct(samples, "robust")
    if not broken.any():
        return None
    sizes = np.quantile(size[broken], np.linspace(0, 1, SIZE_POINTS))
    accuracy = [float((clean_ok & ~(broken & (size <= r))).mean()) for r in sizes]
    return {"metric": metric, "sizes": sizes.tolist(), "robust_acc": accuracy}


def robust_after(samples: dict[str, list[Any]], members: Sequence[str]) -> dict[str, float]:
    """For a sequence of attacks with a per-sample `fooled_by` (the index of the member that
    fooled it, -1 for none): robust accuracy after each member."""
    fooled_by = statistic(samples, "fooled_by")
    clean_ok = correct(samples, "clean")
    return {
        name: float((clean_ok & ((fooled_by < 0) | (fooled_by > index))).mean())
        for index, name in enumerate(members)
    }


def harmonic_mean(seen: float, unseen: float) -> float:
    """The harmonic mean of seen- and unseen-class accuracy (0 when both are 0)."""
    total = seen + unseen
    return 2 * seen * unseen / total if total else 0.0
