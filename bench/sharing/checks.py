"""What every contributed record must pass before a site shows it, beyond the store's checks.

`bench.sharing.bundle.read_bundle` has already checked each record as the store checks its own
(schema, cell hash recomputed from the identity, every number its samples determine, the
per-sample worst case recomputed from its runs). Here, one sentence per failure:

- **code version**: every plugin the record names (method, dataset, attack, defense, text
  encoder) exists here with the version it was computed with; a record of another version
  measured something this code does not;
- **budget**: every sample's perturbation size, as the record itself reports it, lies within
  the threat model it declares (norm and eps, points added or dropped);
- **samples**: the records of one evaluation (same data fingerprint) evaluated the same sample
  ids; and where the bundle's spec resolves here to the record's very cell, as many and the
  same samples as the data here (whose fingerprint is then the record's).

A record whose cell the spec does not resolve to here (other data files, teacher weights or
code) cannot be held against local data: it is reported as unchecked, and shown unverified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.contracts.errors import BenchError
from bench.plan.choice import KINDS
from bench.storage.record import Record

RELATIVE_SLACK, ABSOLUTE_SLACK = 1e-5, 1e-5  # float32 sizes against a float budget
NORM_COLUMNS = ("linf", "l2", "point_l2")


@dataclass
class Checked:
    """The outcome of the checks: failures refuse the bundle; unchecked records are shown
    unverified, with why."""

    failures: list[str] = field(default_factory=list)
    unchecked: dict[str, str] = field(default_factory=dict)  # cell hash -> why
    cells: dict[str, Any] = field(default_factory=dict)  # cell hash -> the cell resolved here


def check_records(records: Sequence[Record], spec_text: str) -> Checked:
    """Every check of the module docstring on the ok records of one bundle."""
    checked = Checked()
    finished = [r for r in records if r.status == "ok"]
    for record in finished:
        checked.failures += _code_version(record) + _budget(record)
    checked.failures += _same_samples(finished)
    cells, why = _resolved(spec_text)
    for record in finished:
        cell = cells.get(record.cell_hash)
        if cell is None:
            checked.unchecked[record.cell_hash] = why or (
                "the bundle's spec does not resolve to this cell here (other data files,"
                " teacher weights or code)"
            )
            continue
        checked.cells[record.cell_hash] = cell
        checked.failures += _against_local_data(record, cell)
    return checked


def _name(record: Record) -> str:
    method = record.labels["method"].split("(")[0]
    return f"Cell {record.cell_hash[:16]} ({method} × {record.labels['attack']})"


def _code_version(record: Record) -> list[str]:
    """One sentence per plugin the record names that this code lacks or has another version of."""
    problems = []
    for kind, used in (record.provenance.get("plugins") or {}).items():
        if kind not in KINDS:
            continue
        try:
            here = int(KINDS[kind].get(used["name"]).cls.version)
        except BenchError:
            problems.append(f"{_name(record)} uses {kind} '{used['name']}', which this code lacks.")
            continue
        if here != int(used["version"]):
            problems.append(
                f"{_name(record)} was computed with {kind} {used['name']} v{used['version']};"
                f" this code has v{here}, so its numbers are not this code's."
            )
    return problems


def _budget(record: Record) -> list[str]:
    """A sentence for each per-sample size outside the declared threat model."""
    threat = record.provenance.get("threat_model") or {}
    samples = record.samples
    limits: list[tuple[str, float, str]] = []  # column, limit, the threat model as said
    norm = threat.get("norm")
    if norm in NORM_COLUMNS:
        eps = float(threat.get("eps", 0.0))
        limit = eps * (1 + RELATIVE_SLACK) + ABSOLUTE_SLACK
        limits.append((norm, limit, f"{norm} {eps:g}"))
    elif norm == "none" and not threat.get("reordered"):  # no point may move at all
        limits.append(("linf", ABSOLUTE_SLACK, "no point moved"))
    for column in ("points_added", "points_dropped"):
        count = float(threat.get(column) or 0)
        limits.append((column, count, f"{column.replace('_', ' ')} {count:g}"))
    problems = []
    for column, limit, said in limits:
        values = [v for v in samples.get(column, []) if v is not None]
        outside = [v for v in values if v > limit]
        if outside:
            problems.append(
                f"{_name(record)} reports {len(outside)} sample(s) with {column} up to"
                f" {max(outside):.6g}, outside its threat model ({said})."
            )
    return problems


def _same_samples(records: Sequence[Record]) -> list[str]:
    """Records of one evaluation data that did not evaluate the same samples."""
    by_data: dict[str, list[Record]] = {}
    for record in records:
        by_data.setdefault(str(record.cell.get("data_fingerprint")), []).append(record)
    problems = []
    for same in by_data.values():
        first = set(same[0].samples["id"])
        for record in same[1:]:
            if set(record.samples["id"]) != first:
                problems.append(
                    f"{_name(record)} evaluated {len(record.samples['id'])} samples, not the"
                    f" same {len(first)} as {_name(same[0])} on the same data."
                )
    return problems


def _resolved(spec_text: str) -> tuple[dict[str, Any], str]:
    """The bundle's spec resolved here, cells by hash; or none, with why."""
    from bench.plan.spec import load_spec_text

    if not spec_text:
        return {}, "the bundle carries no spec"
    try:
        cells = load_spec_text(spec_text, "the bundle's spec")
    except BenchError as error:
        return {}, f"its spec does not resolve here ({error})"
    return {cell.hash: cell for cell in cells}, ""


def _against_local_data(record: Record, cell: Any) -> list[str]:
    """The record's samples against the data here, whose fingerprint is the record's."""
    data = cell.evaluation_data()
    if list(record.samples["id"]) != list(data.ids):
        return [
            f"{_name(record)} evaluated {len(record.samples['id'])} samples; its data, whose"
            f" fingerprint it names, has {len(data.ids)}"
            + (" with other ids." if len(data.ids) == len(record.samples["id"]) else ".")
        ]
    return []
