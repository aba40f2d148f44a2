"""`bench.Result`: what `bench.evaluate` returns, one stored-format record per attack.

Each record is exactly what the store holds for a cell, so a result made in a session reads
like one made by `bench run`. Over several attacks a sample counts as robust only if it
survives every one of them (the worst case, as AutoAttack reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.contracts.accuracy import wilson_interval
from bench.storage.record import Record

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Result:
    """The evaluation of one victim on one dataset under one or more attacks."""

    records: tuple[Record, ...]
    reused: tuple[bool, ...]  # per record: served from the store rather than computed now

    @property
    def clean_acc(self) -> float:
        """Share of the clouds classified correctly without attack."""
        return float(self.records[0].metrics["clean_acc"])

    @property
    def clean_acc_ci(self) -> tuple[float, float]:
        """The 95% Wilson interval of `clean_acc`."""
        low, high = self.records[0].metrics["clean_acc_ci"]
        return (float(low), float(high))

    @property
    def robust_acc(self) -> float:
        """Share of the clouds correct clean and after every run of every attack."""
        robust = self._robust()
        return float(robust.mean()) if robust.size else 0.0

    @property
    def robust_acc_ci(self) -> tuple[float, float]:
        """The 95% Wilson interval of `robust_acc`."""
        robust = self._robust()
        return wilson_interval(int(robust.sum()), int(robust.size))

    @property
    def indicators(self) -> list[str]:
        """The attack-failure indicators that fired, each one sentence naming its attack."""
        return [
            f"{record.labels['attack']}: {sentence}"
            for record in self.records
            for sentence in record.metrics.get("warnings", [])
        ]

    @property
    def samples(self) -> pd.DataFrame:
        """Per-sample outcomes, one row per (attack, cloud): ids, labels, verdicts, sizes."""
        import pandas as pd

        frames = [
            pd.DataFrame(record.samples).assign(attack=record.labels["attack"])
            for record in self.records
        ]
        return pd.concat(frames, ignore_index=True)

    def table(self) -> pd.DataFrame:
        """One row per attack: its threat model, clean and robust accuracy with intervals."""
        import pandas as pd

        rows = []
        for record in self.records:
            metrics = record.metrics
            rows.append(
                {
                    "method": record.labels["method"],
                    "attack": record.labels["attack"],
                    "threat model": metrics.get("threat_model", ""),
                    "clean %": round(100 * metrics["clean_acc"], 1),
                    "robust %": round(100 * metrics["robust_acc"], 1),
                    "robust 95% CI": _percent(metrics["robust_acc_ci"]),
                    "indicators": len(metrics.get("warnings", [])),
                }
            )
        return pd.DataFrame(rows)

    def to_record(self) -> Record:
        """The stored-format record of a single-attack evaluation (`records` holds each)."""
        if len(self.records) != 1:
            raise ValueError(
                f"This result holds {len(self.records)} records, one per attack: read `records`."
            )
        return self.records[0]

    def _robust(self) -> np.ndarray:
        verdicts = [np.asarray(r.samples["robust"], dtype=bool) for r in self.records]
        return np.logical_and.reduce(verdicts) if verdicts else np.zeros(0, dtype=bool)


def _percent(interval: Any) -> str:
    low, high = interval
    return f"[{100 * low:.1f}, {100 * high:.1f}]"
