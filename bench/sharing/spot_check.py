"""The spot check: some samples of a contributed record, recomputed here and compared.

`bench verify BUNDLE --sample 20` draws, for each record whose cell the bundle's spec resolves
to here, `sample` of its sample ids at random (the draw's seed is printed and reproducible),
evaluates the cell on those samples only (each sample's random streams depend on its id and
the cell's seed alone, so its outcome is the one the whole split gives it), and compares the
clean prediction and the prediction after every attack run, sample by sample. The weights it
recomputes with are checked first: a record computed with other weights (a miniature trained
on another machine, another checkpoint) cannot be spot-checked here, which is reported, not
counted as a disagreement. Its report goes to this home (`verified/<bundle sha256>.json`), not
beside the bundle, so that a report can only be one this machine computed; `bench publish
--include` shows it for that very bundle.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.contracts.runtime import Runtime
from bench.sharing.bundle import Bundle, sha256_hex
from bench.sharing.checks import Checked
from bench.storage.atomic import write_text_atomic
from bench.storage.outputs import writable_directory


@dataclass
class RecordCheck:
    """One record's spot check: the samples compared and those that disagree, or why none
    could be."""

    cell_hash: str
    label: str
    compared: int = 0
    agreed: int = 0  # samples whose every prediction is the recomputed one
    disagreeing: list[str] = field(default_factory=list)  # "id: column stored x, here y"
    skipped: str = ""

    def summary(self) -> str:
        if self.skipped:
            return f"{self.label}: not spot-checked ({self.skipped})."
        return f"{self.label}: {self.agreed} of {self.compared} samples agree."


def report_path(bundle: Path) -> Path:
    """Where this home keeps the spot check of this very bundle (by its sha256)."""
    from bench.storage.home import home

    return home() / "verified" / f"{sha256_hex(bundle.read_bytes())}.json"


def spot_check(
    bundle: Bundle, checked: Checked, sample: int, seed: int, runtime: Runtime
) -> list[RecordCheck]:
    """Every ok record of the bundle spot-checked on `sample` samples drawn with `seed`."""
    from bench.evaluation.cell import evaluate_cell  # torch: only once something is recomputed

    draw = random.Random(seed)
    results = []
    for record in (r for r in bundle.records if r.status == "ok"):
        name = f"cell {record.cell_hash[:12]} ({record.labels['method'].split('(')[0]}"
        result = RecordCheck(record.cell_hash, f"{name} × {record.labels['attack']})")
        results.append(result)
        cell = checked.cells.get(record.cell_hash)
        if cell is None:
            result.skipped = checked.unchecked.get(record.cell_hash, "its cell is not resolved")
            continue
        ids = draw.sample(list(record.samples["id"]), min(sample, len(record.samples["id"])))
        _, samples, facts = evaluate_cell(cell, runtime, only=ids)
        stored_weights = (record.provenance.get("weights") or {}).get("sha256")
        if facts["weights"]["sha256"] != stored_weights:
            result.skipped = (
                f"its weights here have sha256 {facts['weights']['sha256'][:16]}, the record's"
                f" {str(stored_weights)[:16]}"
            )
            continue
        differing = _disagreements(record.samples, samples, ids)
        result.compared, result.agreed = len(ids), len(ids) - len(differing)
        result.disagreeing = [line for lines in differing.values() for line in lines]
    return results


def _disagreements(
    stored: dict[str, list[Any]], here: dict[str, list[Any]], ids: list[str]
) -> dict[str, list[str]]:
    """By sample, each prediction column whose stored value is not the recomputed one."""
    where = {sample: row for row, sample in enumerate(stored["id"])}
    columns = [c for c in here if c == "clean_pred" or c.startswith("adv_pred")]
    found: dict[str, list[str]] = {}
    for row, sample in enumerate(ids):
        for column in columns:
            kept = stored.get(column, [None] * len(stored["id"]))[where[sample]]
            if kept != here[column][row]:
                line = f"{sample}: {column} stored {kept}, here {here[column][row]}"
                found.setdefault(sample, []).append(line)
    return found


def write_report(bundle: Bundle, results: list[RecordCheck], sample: int, seed: int) -> Path:
    """Keep the spot check in this home, for `bench publish --include` to read."""
    path = report_path(bundle.path)
    writable_directory(path.parent, "the home's spot-check reports")
    report = {"bundle": bundle.name, "sample": sample, "seed": seed}
    report["records"] = [asdict(r) for r in results]
    write_text_atomic(path, json.dumps(report, indent=1) + "\n")
    return path


def read_report(bundle: Path) -> dict[str, RecordCheck]:
    """The spot check this home made of this very bundle, by cell hash; empty if none."""
    path = report_path(bundle)
    if not path.is_file():
        return {}
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        return {r["cell_hash"]: RecordCheck(**r) for r in report["records"]}
    except (ValueError, TypeError, KeyError):
        return {}
