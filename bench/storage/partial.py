"""The finished batches of a cell being computed, so that a crash loses at most one batch.

After each batch the cell's per-sample outcomes so far are rewritten atomically beside the
store; a rerun of the cell takes them as they are and attacks only the samples left. Every
random draw of a cell is keyed by its seed and the sample id, so the resumed cell's record is
the one an uninterrupted run would have written. The file goes once the record is stored.
"""

from __future__ import annotations

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


class PartialResults:
    """A cell's saved progress in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> SavedBatches:
        """The saved progress, or none; an unreadable file is set aside and ignored."""
        try:
            data = json.loads(self.path.read_bytes())
            return SavedBatches(
                {
                    name: {int(r): v for r, v in values.items()}
                    for name, values in data["columns"].items()
                },
                int(data["gradient_queries"]),
                float(data["wall_s"]),
            )
        except FileNotFoundError:
            return SavedBatches()
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            aside = self.path.with_suffix(".unreadable")
            self.path.replace(aside)
            log.warning(
                "Saved batches %s are unreadable (%s); moved to %s.", self.path, error, aside
            )
            return SavedBatches()

    def save(self, progress: SavedBatches) -> None:
        data = {
            "columns": progress.columns,
            "gradient_queries": progress.gradient_queries,
            "wall_s": progress.wall_s,
        }
        write_text_atomic(self.path, json.dumps(data))

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
