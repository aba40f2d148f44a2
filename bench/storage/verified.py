"""Cache files that carry the sha256 they were written with, checked on every read.

A cache (trained weights, text embeddings, generated clouds) can be damaged in ways its own
format does not notice: bytes overwritten inside a safetensors body still load, and give wrong
numbers. Each file is written with a sidecar `<name>.sha256` holding the file's hash and the
key the file was made for (the hash of what it caches); a read compares both. A file and
sidecar copied over another key's pair thus fail as surely as damaged bytes. A mismatch, or a
file without a sidecar, is reported in one sentence and the file is moved aside, so the
artefact is rebuilt and no result is computed from it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import NamedTuple

from bench.storage.atomic import write_bytes_atomic, write_text_atomic

log = logging.getLogger(__name__)


class Verified(NamedTuple):
    """A cache file's bytes, read and found equal to what was written."""

    data: bytes
    sha256: str


def sidecar(path: Path) -> Path:
    """Where the hash of `path` is kept."""
    return path.with_name(path.name + ".sha256")


def write_verified(path: Path, data: bytes, key: str) -> str:
    """Write `data`, made for `key`, to `path` atomically, with its sha256 and key beside it;
    returns the hash."""
    digest = hashlib.sha256(data).hexdigest()
    write_bytes_atomic(path, data)
    write_text_atomic(sidecar(path), f"{digest} {key}\n")
    return digest


def recorded(path: Path) -> tuple[str, str] | None:
    """The hash and key `path` was written with, or None when it has no readable sidecar."""
    try:
        digest, key = sidecar(path).read_text().split()
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return digest, key


def read_verified(path: Path, what: str, key: str) -> Verified | None:
    """The bytes of `path` if they hash to what was written for `key`; None (file moved aside)
    if not.

    `what` names the artefact in the warning, e.g. "trained weights".
    """
    if not path.is_file():
        return None
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    expected = recorded(path)
    if expected == (digest, key):
        return Verified(data, digest)
    aside = path.with_name(path.name + ".corrupt")
    path.replace(aside)
    sidecar(path).unlink(missing_ok=True)
    if expected is None:
        reason = "has no recorded hash (an older version or an interrupted write made it)"
    elif expected[0] != digest:
        reason = "does not match its recorded hash"
    else:
        reason = f"was made for another key ({expected[1][:16]}), copied over this one's"
    log.warning("The cached %s %s %s; moved to %s and rebuilding.", what, path, reason, aside.name)
    return None
