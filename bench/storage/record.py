"""The record of one cell: what the store holds for it, field by field.

Its field types are the schema every stored record is checked against when read
(`bench.storage.validation`); its metrics' schema is `bench.contracts.metrics.CellMetrics`.
This module never imports torch: the leaderboard reads records.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from bench.contracts.errors import StoreError
from bench.contracts.metrics import CellMetrics

SCHEMA_VERSION = 1


@dataclass
class Record:
    """The outcome of one cell."""

    cell_hash: str
    cell: dict[str, Any]  # the resolved identity that was hashed
    labels: dict[str, str]  # short display names: method, dataset, attack, defense
    status: str  # "ok" | "failed"
    metrics: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[Any]] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    schema_version: int = SCHEMA_VERSION

    @cached_property
    def measured(self) -> CellMetrics:
        """The metrics through their schema; a DataError if they do not fit it."""
        return CellMetrics.parse(self.metrics, f"cell {self.cell_hash[:16]}")

    def to_json(self) -> str:
        """The record as stored; a StoreError if a number is not finite (JSON has no NaN)."""
        try:
            return json.dumps(asdict(self), indent=1, allow_nan=False) + "\n"
        except (ValueError, TypeError) as error:
            raise StoreError(
                f"The result of cell {self.cell_hash[:16]} cannot be stored ({error}): a metric"
                " is NaN, infinite or not a number."
            ) from None
