"""The result store: one JSON record per cell, written atomically under `<home>/store/cells/`.

Records hold numbers as numbers, per-sample outcomes (so paired statistics are possible) and
provenance. A failed cell is stored as failed and retried by the next run; an ok cell is reused,
and a failure never replaces it (`bench.running.task`).

Every read goes through `bench.storage.validation`: a record that does not fit its schema, is
not its cell's, or disagrees with its own samples is set aside (renamed `.unreadable`, never
deleted), reported in one sentence and read as absent, so the next run recomputes the cell and
nothing invalid is ever shown. A record that would not pass those checks is never written.
This module never imports torch: the leaderboard reads the store through it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from bench.contracts.errors import StoreError
from bench.storage.atomic import write_text_atomic
from bench.storage.partial import PartialResults
from bench.storage.record import Record
from bench.storage.validation import InvalidRecord, read_record

log = logging.getLogger(__name__)


class Store:
    """Records addressed by cell hash."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, cell_hash: str) -> Path:
        return self.root / "cells" / cell_hash[:2] / f"{cell_hash[:16]}.json"

    def claim_path(self, cell_hash: str) -> Path:
        """The lock file of a cell's claim (`bench.storage.claims`)."""
        return self.root / "claims" / cell_hash[:2] / f"{cell_hash[:16]}.lock"

    def partial(self, cell_hash: str) -> PartialResults:
        """The finished batches of a cell being computed (`bench.storage.partial`)."""
        path = self.root / "partial" / cell_hash[:2] / f"{cell_hash[:16]}.json"
        return PartialResults(path, cell_hash)

    def get(self, cell_hash: str) -> Record | None:
        """The valid record of a cell, or None; an invalid one is set aside with a warning.

        Readers may race: a record another reader has just set aside reads as absent.
        """
        found = self._read(self.path(cell_hash))
        if isinstance(found, StoreError):
            log.warning("%s", found)
            return None
        return found if found is not None and found.cell_hash == cell_hash else None

    def put(self, record: Record) -> Path:
        """Write a record atomically; a StoreError, and nothing written, if it would not read
        back as valid (a NaN metric, numbers its samples do not give)."""
        text = record.to_json()
        try:
            read_record(text, "")
        except InvalidRecord as invalid:
            raise StoreError(
                f"The result of cell {record.cell_hash[:16]} cannot be stored: it {invalid.reason}."
            ) from None
        path = self.path(record.cell_hash)
        write_text_atomic(path, text)
        return path

    def scan(self) -> Iterator[Record | StoreError]:
        """Every valid record, or the error saying why a file is left out, in path order."""
        for path in sorted((self.root / "cells").glob("*/*.json")):
            found = self._read(path)
            if found is not None:
                yield found

    def _read(self, path: Path) -> Record | StoreError | None:
        """The valid record in `path`; the error that set it aside; None if there is none."""
        try:
            text = path.read_bytes()
        except FileNotFoundError:  # none, or set aside by another reader since the listing
            return None
        except OSError as error:
            return StoreError(
                f"The result record {path} cannot be read ({error.strerror}); it is left out."
            )
        try:
            record = read_record(text, str(path))
            home = self.path(record.cell_hash)
            if home != path:  # copied or renamed by hand
                raise InvalidRecord(
                    str(path),
                    f"holds the record of cell {record.cell_hash[:16]}, which belongs in {home}",
                )
        except InvalidRecord as invalid:
            return self._set_aside(path, invalid)
        return record

    def _set_aside(self, path: Path, invalid: InvalidRecord) -> InvalidRecord | None:
        """Rename an invalid record `.unreadable`: kept for a person to look at, out of every
        reader's way. None if another reader set it aside first."""
        aside = path.with_suffix(".unreadable")
        try:
            path.replace(aside)
        except FileNotFoundError:
            return None
        except OSError as error:  # a read-only store: left in place, still never served
            invalid.reason += f" (it cannot be moved aside: {error.strerror})"
            return invalid
        invalid.moved_to = aside.name
        return invalid
