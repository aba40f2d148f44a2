"""Exclusive claims on work (a cell, a weights key), so two drivers never do the same work twice.

A claim is an OS lock (`flock`) on a file beside the store. The kernel releases it when its
holder dies, however it dies, so the claim of a killed process is stale the moment it dies and
the next driver takes it over; nothing has to guess from timestamps whether a holder is alive.
On a cluster the lock files must be on a filesystem whose locks all nodes see (local disks and
most NFS v4 mounts; not every network filesystem honours `flock`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


@contextmanager
def claim(path: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the claim at `path` for the block: yields True once held, or False at once if
    another process holds it and `wait` is False."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
