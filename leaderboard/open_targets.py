"""Open-vocabulary targets: how often an attack makes a victim see a name nobody evaluated.

A cell of the `open_target` attack classifies the evaluated names plus the target text (its
record's provenance lists them as `extra_classes`), so its victim is not the evaluated
classifier and it joins no leaderboard track; its own number is the targeted success rate,
the share of clean-correct clouds the attack moved to the target text, with its 95% Wilson
interval. Pure function of store records; no torch here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bench.contracts.accuracy import wilson_interval
from bench.storage.store import Record


@dataclass(frozen=True)
class OpenTargetResult:
    """One open-target cell: the victim, the target text, and how often it was reached."""

    record: Record
    target: str
    reached: int  # clean-correct clouds classified as the target after the attack
    attacked: int  # clean-correct clouds (the attacked ones)

    @property
    def rate(self) -> float:
        return self.reached / self.attacked if self.attacked else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.reached, self.attacked)


def has_extra_classes(record: Record) -> bool:
    """Whether the cell's victim classified names beside the evaluated ones."""
    return bool(record.provenance.get("extra_classes"))


def open_target_results(records: Iterable[Record]) -> list[OpenTargetResult]:
    """The finished open-target cells, by method, dataset, target text and budget."""
    results = []
    for record in records:
        if record.status != "ok" or not has_extra_classes(record):
            continue
        samples = record.samples
        clean_ok = [p == y for p, y in zip(samples["clean_pred"], samples["label"], strict=True)]
        targets = samples.get("target", [None] * len(clean_ok))
        reached = sum(
            ok and t is not None and p == t
            for ok, p, t in zip(clean_ok, samples["adv_pred"], targets, strict=True)
        )
        target = ", ".join(record.provenance["extra_classes"])
        results.append(OpenTargetResult(record, target, int(reached), sum(clean_ok)))
    return sorted(
        results,
        key=lambda r: (
            r.record.labels["dataset"],
            r.target,
            r.record.measured.threat_model,
            r.record.labels["method"],
            str(r.record.cell.get("seed")),
        ),
    )
