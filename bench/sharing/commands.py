"""The commands of contributed results: `bench export`, `bench verify`, and the bundles
`bench publish --include` reads."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import secrets
from pathlib import Path
from typing import Any

from bench.contracts.errors import UsageError
from bench.storage.record import Record


def export(args: argparse.Namespace) -> int:
    """Pack the stored ok records of a spec's cells, with the spec, into one bundle."""
    from bench.plan.spec import load_spec_text, spec_text
    from bench.running.provenance import code_version, utc_now
    from bench.sharing.bundle import export_bundle
    from bench.storage.home import existing_home
    from bench.storage.outputs import writable_file
    from bench.storage.store import Store

    text = spec_text(args.spec)
    cells = load_spec_text(text, str(args.spec))
    store = Store(existing_home() / "store")
    records = [r for c in cells if (r := store.get(c.hash)) is not None and r.status == "ok"]
    if not records:
        raise UsageError(f"No cell of {args.spec} is stored yet; `bench run --spec` computes them.")
    writable_file(args.out, "the bundle (--out)")
    exported = {"exported_at": utc_now(), "code": code_version(), "environment": _environment()}
    spec = {"name": Path(str(args.spec)).stem, "text": text}
    export_bundle(records, spec, args.out, exported)
    left = len(cells) - len(records)
    print(f"{args.out}: {len(records)} cell(s) of {len(cells)}", end="")
    print(f" ({left} not computed yet, left out)." if left else ".")
    return 0


def verify(args: argparse.Namespace) -> int:
    """Check a bundle as publishing it would, then spot-check some of its samples here."""
    from bench.contracts.bounds import RUN_DEVICE, check
    from bench.contracts.runtime import Runtime
    from bench.sharing.spot_check import spot_check, write_report

    for flag, value in (("--sample", args.sample), ("--batch-size", args.batch_size)):
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}.")
    check(args.device, RUN_DEVICE, "--device")
    bundle, checked = checked_bundle(args.bundle)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    runtime = Runtime(args.device, args.batch_size)
    print(f"{bundle.name}: every import check passed; spot check of {args.sample} samples per")
    print(f"cell, drawn with seed {seed} (`--seed {seed}` draws them again):")
    results = spot_check(bundle, checked, args.sample, seed, runtime)
    for result in results:
        print(f"  {result.summary()}")
        for disagreement in result.disagreeing[:5]:
            print(f"    {disagreement}")
    report = write_report(bundle, results, args.sample, seed)
    print(f"report: {report}")
    disagreeing = [r for r in results if r.disagreeing]
    return 1 if disagreeing else 0


def checked_bundle(path: Path) -> tuple[Any, Any]:
    """The bundle and its checks; a UsageError with one sentence per failure if any fails."""
    from bench.sharing.bundle import read_bundle
    from bench.sharing.checks import check_records

    bundle = read_bundle(path)
    checked = check_records(bundle.records, bundle.spec_text)
    failures = bundle.failures + checked.failures
    if failures:
        lines = "\n".join(f"- {failure}" for failure in failures)
        raise UsageError(f"The bundle {path} is refused:\n{lines}")
    return bundle, checked


def included(paths: list[Path], local: list[Record]) -> tuple[list[Record], dict[str, Any]]:
    """The records of these bundles, each checked, and where each came from (by cell hash).

    A record the local store also holds must have the same per-sample predictions there (its
    floating-point sizes may differ in the last digits on other hardware)."""
    from bench.sharing.spot_check import read_report
    from leaderboard.origins import Origin

    here = {r.cell_hash: r for r in local}
    records: list[Record] = []
    origins: dict[str, Origin] = {}
    for path in paths:
        bundle, checked = checked_bundle(path)
        report = read_report(path)
        for record in bundle.records:
            mine = here.get(record.cell_hash)
            if mine is not None:
                if _outcomes(mine) != _outcomes(record):
                    raise UsageError(
                        f"The bundle {path} is refused: its cell {record.cell_hash[:16]} is also"
                        " in this store, with other per-sample outcomes."
                    )
                continue  # computed here: shown as such
            records.append(record)
            spot = report.get(record.cell_hash)
            if spot is not None and not spot.skipped:
                why = f"{len(spot.disagreeing)} recomputed outcome(s) disagree" * bool(
                    spot.disagreeing
                )
                origins[record.cell_hash] = Origin(bundle.name, spot.agreed, spot.compared, why)
            else:
                why = (spot.skipped if spot else "") or checked.unchecked.get(record.cell_hash, "")
                why = why or "not spot-checked here (`bench verify`)"
                origins[record.cell_hash] = Origin(bundle.name, unverified=why)
    return records, origins


def _outcomes(record: Record) -> dict[str, list[Any]]:
    """The sample ids and every prediction column: what a cell's verdicts are made of."""
    return {
        name: values
        for name, values in record.samples.items()
        if name in ("id", "clean_pred") or name.startswith("adv_pred")
    }


def _environment() -> dict[str, Any]:
    """The exporting machine, without importing torch."""
    try:
        torch = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch = None
    return {"python": platform.python_version(), "platform": platform.platform(), "torch": torch}
