"""Records for tests: as `bench run` stores them, the bare metrics a table needs, and the
batches a run saves on its way to a record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.contracts.accuracy import correct, wilson_interval
from bench.contracts.hashing import sha256_of
from bench.contracts.plugins import ThreatModel
from bench.evaluation.summary import summarize
from bench.storage.partial import SavedBatches
from bench.storage.record import Record


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


def stored_record(
    adv_pred: Sequence[int],
    *,
    label: Sequence[int] | None = None,
    clean_pred: Sequence[int] | None = None,
    ids: Sequence[str] | None = None,
    method: str = "m",
    attack: str = "pgd",
    eps: float = 0.01,
    seed: int = 0,
    finished: str = "2026-01-01T00:00:00+00:00",
    **metrics: Any,
) -> Record:
    """The record a linf attack with these per-sample predictions stores (labels all 0 and
    clean predictions all right unless given): metrics from `bench.evaluation.summary`, the
    hash of its cell, so it passes every check of `bench.storage.validation`. `metrics` adds
    those the samples do not determine (threat_model, zero_shot, ...)."""
    n = len(adv_pred)
    labels = list(label if label is not None else [0] * n)
    samples: dict[str, list[Any]] = {
        "id": list(ids if ids is not None else [f"s{i}" for i in range(n)]),
        "label": labels,
        "clean_pred": list(clean_pred if clean_pred is not None else labels),
        "adv_pred": list(adv_pred),
    }
    threat = ThreatModel("linf", eps)
    cell = {
        "method": {"name": method, "version": 1, "config": {}},
        "dataset": {"name": "d", "version": 1, "config": {}},
        "attack": {"name": attack, "version": 1, "config": {"eps": eps}},
        "defense": {"name": "none", "version": 1, "config": {}},
        "seed": seed,
    }
    computed = summarize(samples, threat)
    computed.update(runs=["adaptive"], threat_model=threat.describe(), access="gradient")
    return Record(
        cell_hash=sha256_of(cell),
        cell=cell,
        labels={
            "method": method,
            "teacher": "t",
            "corpus": "c",
            "dataset": "d",
            "attack": attack,
            "defense": "none",
        },
        status="ok",
        metrics={**computed, **metrics},
        samples=samples,
        provenance={
            "seed": seed,
            "finished_at": finished,
            "threat_model": {"norm": "linf", "eps": eps},
        },
    )


def saved_batches(record: Record) -> SavedBatches:
    """What a run of the record's cell has saved once every batch is attacked
    (`bench.evaluation.cell`): the clean-correct samples' outcomes, column by column. A rerun
    that resumes from them attacks nothing and stores the record again."""
    samples = record.samples
    rows = [row for row, right in enumerate(correct(samples, "clean")) if right]
    unsaved = {"id", "label", "clean_pred", "robust"}  # known before the attack, or after it
    columns = {
        name: {row: values[row] for row in rows}
        for name, values in samples.items()
        if name not in unsaved
    }
    return SavedBatches(columns, record.metrics["gradient_queries"], record.metrics["wall_s"])
