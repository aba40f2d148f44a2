"""sha256 of large files (teacher weights), cached by path, size and modification time.

A cell's identity includes the hash of its teacher's weights file; hashing a multi-GB open_clip
checkpoint for every cell would dominate start-up, so the digest is kept in `<home>/hashes.json`
and recomputed only when the file's size or mtime changes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bench.contracts.hashing import sha256_file
from bench.storage.atomic import write_text_atomic
from bench.storage.home import home

log = logging.getLogger(__name__)
CACHE_FILE = "hashes.json"


def cached_sha256(path: Path) -> str:
    """The file's sha256, from the cache when its size and mtime are unchanged."""
    resolved = path.resolve()
    stat = resolved.stat()
    key = str(resolved)
    stamp = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache_path = home() / CACHE_FILE
    cache = _read(cache_path)
    entry = cache.get(key)
    if isinstance(entry, dict) and {k: entry.get(k) for k in stamp} == stamp:
        digest = entry.get("sha256")
        if isinstance(digest, str) and len(digest) == 64:
            return digest
    digest = sha256_file(resolved)
    cache[key] = {**stamp, "sha256": digest}
    try:
        write_text_atomic(cache_path, json.dumps(cache, indent=1, sort_keys=True))
    except OSError as error:  # a read-only home still gets the right digest, just slower
        log.warning("Cannot cache the hash of %s in %s: %s", resolved, cache_path, error)
    return digest


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
