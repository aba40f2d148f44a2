"""Reading a small text file a user names (a run spec, a runtime environment) without hanging.

`Path.read_text` on a named pipe waits for a writer forever, and on a multi-gigabyte file reads
all of it before any parser can refuse it. Here the file is opened without blocking, must be a
regular file, and is read up to its size limit only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bench.contracts.errors import UsageError, clipped

KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def read_small_text(path: Path, limit: int, what: str, error: type[UsageError]) -> str:
    """The UTF-8 text of `path`, at most `limit` bytes; anything else is one `error` sentence
    naming `what` the file was meant to be. OSError and UnicodeDecodeError reach the caller,
    which knows how to word them."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            kind = KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise error(f"The {what} {clipped(str(path))} is {kind}; give a regular file.")
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise error(
            f"The {what} {clipped(str(path))} is larger than {_size(limit)}; is it the right file?"
        )
    return data.decode("utf-8")


def _size(count: int) -> str:
    return f"{count >> 20} MiB" if count >= 1 << 20 else f"{count} bytes"
