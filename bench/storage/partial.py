"""The finished batches of a cell being computed, so that a crash loses at most one batch.

After each batch the cell's per-sample outcomes so far are rewritten atomically beside the
store; a rerun of the cell takes them as they are and attacks only the samples left. Every
random draw of a cell is keyed by its seed and the sample id, so the resumed cell's record is
the one an uninterrupted run would have written. The file goes once the record is stored.

Taken as they are means unverified by the attack, so the file carries the hash of its cell and
the sha256 of its content, both checked on load: a file damaged, edited, copied from another
cell or written by an older version is set aside in one sentence, and the cell's samples are
attacked again rather than resumed from numbers nobody computed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.storage.atomic import write_text_atomic

log = logging.getLogger(__name__)


@dataclass
class SavedBatches:
    """Outcomes of the samples attacked so far: per column, values by split row."""

    columns: dict[str, dict[int, Any]] = field(default_factory=dict)
    gradient_queries: int = 0
    wall_s: float = 0.0

    @property
    def rows(self) -> set[int]:
        return {row for values in self.columns.values() for row in values}


class _Unusable(Exception):
    """Why a saved-batches file cannot be resumed from, as a clause."""


class PartialResults:
    """A cell's saved progress in one JSON file: {"cell_hash", "sha256", "batches"}."""

    def __init__(self, path: Path, cell_hash: str) -> None:
        self.path = path
        self.cell_hash = cell_hash

    def load(self) -> SavedBatches:
        """The saved progress, or none; a file that fails its checks is set aside and ignored."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return SavedBatches()
        try:
            return self._parse(text)
        except _Unusable as reason:
            aside = self.path.with_suffix(".unreadable")
            try:
                self.path.replace(aside)
            except FileNotFoundError:  # set aside by another reader
                return SavedBatches()
            log.warning(
                "The saved batches %s %s; they were moved to %s and the cell's samples are"
                " attacked again.",
                self.path,
                reason,
                aside.name,
            )
            return SavedBatches()

    def save(self, progress: SavedBatches) -> None:
        batches = {
            "columns": {
                name: {str(row): value for row, value in values.items()}
                for name, values in progress.columns.items()
            },
            "gradient_queries": progress.gradient_queries,
            "wall_s": progress.wall_s,
        }
        data = {"cell_hash": self.cell_hash, "sha256": _digest(batches), "batches": batches}
        write_text_atomic(self.path, json.dumps(data))

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

    def _parse(self, text: bytes) -> SavedBatches:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise _Unusable(f"are not JSON ({error})") from None
        if not isinstance(data, dict) or set(data) != {"cell_hash", "sha256", "batches"}:
            raise _Unusable("are not in the format this version writes")
        if data["cell_hash"] != self.cell_hash:
            raise _Unusable(f"were saved for another cell ({str(data['cell_hash'])[:16]})")
        if data["sha256"] != _digest(data["batches"]):
            raise _Unusable("do not match the hash they were saved with")
        batches = data["batches"]
        try:
            return SavedBatches(
                {
                    name: {int(row): value for row, value in values.items()}
                    for name, values in batches["columns"].items()
                },
                int(batches["gradient_queries"]),
                float(batches["wall_s"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise _Unusable(f"are not in the format this version writes ({error})") from None


def _digest(batches: Any) -> str:
    """The sha256 of the batches as canonical JSON (NaN allowed: an attack statistic may be)."""
    text = json.dumps(batches, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
