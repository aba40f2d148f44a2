"""The result store: one JSON record per cell, written atomically under `<home>/store/cells/`.

Records hold numbers as numbers, per-sample outcomes (so paired statistics are possible) and
provenance. A failed cell is stored as failed and retried by the next run; an ok cell is reused,
and a failure never replaces it (`bench.running.task`).
This module never imports torch: the leaderboard reads the store through it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from bench.contracts.errors import DataError, StoreError
from bench.contracts.metrics import CellMetrics
from bench.storage.atomic import write_text_atomic

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)


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

    @classmethod
    def from_json(cls, text: str | bytes, source: str) -> Record:
        try:
            data = json.loads(text)
            if data.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"schema version {data.get('schema_version')!r}")
            record = cls(**data)
            if record.status == "ok":
                record.measured  # noqa: B018 - an ok record's metrics must fit their schema
            return record
        except (ValueError, TypeError, AttributeError, DataError) as error:
            raise StoreError(f"The result record {source} is unreadable ({error}).") from None


class Store:
    """Records addressed by cell hash."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, cell_hash: str) -> Path:
        return self.root / "cells" / cell_hash[:2] / f"{cell_hash[:16]}.json"

    def claim_path(self, cell_hash: str) -> Path:
        """The lock file of a cell's claim (`bench.storage.claims`)."""
        return self.root / "claims" / cell_hash[:2] / f"{cell_hash[:16]}.lock"

    def partial_path(self, cell_hash: str) -> Path:
        """The finished batches of a cell being computed (`bench.storage.partial`)."""
        return self.root / "partial" / cell_hash[:2] / f"{cell_hash[:16]}.json"

    def get(self, cell_hash: str) -> Record | None:
        """The record of a cell, or None; an unreadable one is renamed aside, not lost.

        Readers may race: a record another reader has just set aside reads as absent.
        """
        path = self.path(cell_hash)
        try:
            record = Record.from_json(path.read_bytes(), str(path))
        except FileNotFoundError:
            return None
        except StoreError as error:
            aside = path.with_suffix(".unreadable")
            try:
                path.replace(aside)
            except FileNotFoundError:  # another reader set it aside first
                return None
            log.warning("%s It was moved to %s and the cell will be recomputed.", error, aside)
            return None
        return record if record.cell_hash == cell_hash else None

    def put(self, record: Record) -> Path:
        path = self.path(record.cell_hash)
        write_text_atomic(path, record.to_json())
        return path

    def scan(self) -> Iterator[Record | StoreError]:
        """Every record, or the error describing why a file could not be read, in path order."""
        for path in sorted((self.root / "cells").glob("*/*.json")):
            try:
                record = Record.from_json(path.read_bytes(), str(path))
            except StoreError as error:
                yield error
                continue
            except FileNotFoundError:  # set aside by a reader since the listing
                continue
            except OSError as error:
                yield StoreError(f"The result record {path} cannot be read ({error.strerror}).")
                continue
            if self.path(record.cell_hash) != path:  # copied or renamed by hand
                yield StoreError(
                    f"The file {path} holds the record of cell {record.cell_hash[:16]}, which"
                    f" belongs in {self.path(record.cell_hash)}."
                )
                continue
            yield record
