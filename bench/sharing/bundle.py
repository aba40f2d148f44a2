"""A bundle: the records of one spec's run, packed to travel to another machine's site.

`bench export --spec S --out bundle.tar.gz` writes a gzipped tar of

- `manifest.json`: the format and its version, when and by what code (package version, git
  commit) and environment (Python, platform, torch, threads) it was exported, the spec's name
  and YAML text (so that the receiver can resolve the same cells and recompute some of them),
  and for each record its cell hash, file and sha256;
- `records/<cell hash>.json`: each record exactly as the store holds it: identity, labels,
  metrics, every per-sample outcome (predictions of every run, perturbation sizes) and the
  provenance (weights sha256, data fingerprint, plugin versions, code, environment).

Reading one never unpacks it to disk: members are read in memory, only the manifest and
record files are taken, each within a size limit, and a record whose bytes do not hash to the
manifest's sha256 or that fails the store's own checks (`bench.storage.validation`) is a
failure sentence, not an exception.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.contracts.errors import UsageError
from bench.storage.atomic import write_bytes_atomic
from bench.storage.record import Record
from bench.storage.validation import InvalidRecord, read_record

FORMAT = "bench3d-bundle"
VERSION = 1
MANIFEST = "manifest.json"
RECORD_FILE = re.compile(r"records/([0-9a-f]{64})\.json")
MEMBER_LIMIT = 512 * 2**20  # bytes: a record of the largest public split is a few MB


@dataclass
class Bundle:
    """A bundle as read: its manifest, the records that passed the store's checks, and one
    sentence per record (or manifest entry) that did not."""

    path: Path
    manifest: dict[str, Any]
    records: list[Record] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def spec_text(self) -> str:
        return str((self.manifest.get("spec") or {}).get("text") or "")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_bundle(
    records: list[Record], spec: dict[str, str], out: Path, exported: dict[str, Any]
) -> Path:
    """Write the bundle of `records` (whole: ok and failed) for `spec` ({"name", "text"})."""
    files = {f"records/{r.cell_hash}.json": r.to_json().encode() for r in records}
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        **exported,  # when, code, environment
        "spec": spec,
        "records": [
            {"cell_hash": r.cell_hash, "file": name, "sha256": sha256_hex(files[name])}
            for r, name in zip(records, files, strict=True)
        ],
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in {MANIFEST: json.dumps(manifest, indent=1).encode(), **files}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    write_bytes_atomic(out, buffer.getvalue())
    return out


def read_bundle(path: Path) -> Bundle:
    """The bundle at `path`; a UsageError if it is not a bundle at all (no readable manifest),
    else every record problem as a sentence in `failures`."""
    members = _members(path)
    try:
        manifest = json.loads(members.pop(MANIFEST))
    except KeyError:
        raise UsageError(f"{path} is not a result bundle: it has no {MANIFEST}.") from None
    except ValueError as error:
        raise UsageError(f"The manifest of {path} is not JSON ({error}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UsageError(f"{path} is not a result bundle (its manifest is not a {FORMAT}).")
    if manifest.get("version") != VERSION:
        raise UsageError(
            f"{path} is a bundle of format version {manifest.get('version')}; this code reads"
            f" version {VERSION}."
        )
    bundle = Bundle(path, manifest)
    listed = manifest.get("records")
    if not isinstance(listed, list):
        raise UsageError(f"The manifest of {path} lists no records.")
    for entry in listed:
        name, digest = str(entry.get("file")), str(entry.get("sha256"))
        data = members.pop(name, None)
        if data is None:
            bundle.failures.append(f"{name} is listed in the manifest but not in the bundle.")
        elif sha256_hex(data) != digest:
            bundle.failures.append(
                f"{name} does not match the sha256 the manifest gives for it: it was changed"
                " after the export."
            )
        else:
            try:
                bundle.records.append(read_record(data, f"{name} of {path.name}"))
            except InvalidRecord as invalid:
                bundle.failures.append(f"The result record {invalid.source} {invalid.reason}.")
    bundle.failures += [f"{name} is in the bundle but not in its manifest." for name in members]
    return bundle


def _members(path: Path) -> dict[str, bytes]:
    """The manifest's and the record files' bytes, read in memory; anything else is refused."""
    try:
        archive = tarfile.open(path, mode="r:gz")
    except (OSError, tarfile.TarError) as error:
        raise UsageError(f"{path} is not a readable .tar.gz bundle ({error}).") from None
    found: dict[str, bytes] = {}
    with archive:
        try:
            for member in archive:
                if member.name != MANIFEST and not RECORD_FILE.fullmatch(member.name):
                    raise UsageError(f"{path} holds {member.name!r}, which no bundle has.")
                if not member.isfile() or member.size > MEMBER_LIMIT:
                    raise UsageError(
                        f"{path} holds {member.name!r} as a link or an oversized file."
                    )
                handle = archive.extractfile(member)
                assert handle is not None  # a regular file
                found[member.name] = handle.read()
        except (OSError, tarfile.TarError, EOFError) as error:
            raise UsageError(f"{path} is damaged ({error}).") from None
    return found
