"""Atomic file writes: a reader never sees half a file, even with parallel workers or a crash.

A full disk (or quota, or file-size limit) is one sentence, `DiskFull`, with the old file intact.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from bench.contracts.errors import DiskFull

NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, then rename it over `path`.

    The file's data is synced before the rename and the directory after it, so once this
    returns, a power cut leaves the new file, never an empty or missing one. The file gets the
    permissions a plain `open` would give (0666 less the umask), not the temporary file's
    private 0600, so a store shared by several users or workers stays readable. No room to
    write is a DiskFull, and `path` keeps what it held.
    """
    try:
        _write(path, data)
    except DiskFull:
        raise
    except OSError as error:
        if error.errno not in NO_ROOM:
            raise
        full = DiskFull(
            f"There is no room to write {path} ({error.strerror}): free some space (or raise"
            " the quota or file-size limit) and run the command again; nothing written before"
            " was lost."
        )
        full.errno = error.errno
        raise full from None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable (POSIX needs the directory itself synced)."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode())


def _umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
