"""Metrics for records that tests build by hand: what every stored ok record carries."""

from __future__ import annotations

from typing import Any

from bench.contracts.accuracy import wilson_interval


def record_metrics(n: int, clean_acc: float, robust_acc: float, **extra: Any) -> dict[str, Any]:
    """The metrics `bench.contracts.metrics.CellMetrics` requires, with Wilson intervals."""
    return {
        "n": n,
        "clean_acc": clean_acc,
        "clean_acc_ci": list(wilson_interval(round(clean_acc * n), n)),
        "robust_acc": robust_acc,
        "robust_acc_ci": list(wilson_interval(round(robust_acc * n), n)),
        "attack_success_rate": 1.0 - robust_acc / clean_acc if clean_acc else 0.0,
        **extra,
    }
