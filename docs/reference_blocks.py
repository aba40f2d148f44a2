"""Our attacks beside the reference implementations, from the committed benchmark output.

`benchmarks/reference_attacks.py --reference CHECKOUT` writes `benchmarks/reference_attacks.json`
(the reference code's point drop, kNN, C&W, AdvPC, SI-Adv and AOF and ours on the same victim,
clouds and setting); this renders it as the table of docs/attacks.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prose import table, wrap

DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "reference_attacks.json"
NAMES = {
    "point_drop": "point drop",
    "knn": "kNN",
    "cw": "C&W",
    "advpc": "AdvPC",
    "si_adv": "SI-Adv",
    "aof": "AOF",
}
# Verdicts only some attacks have: (field, how the table says it).
OTHER_VERDICTS = (
    ("fooled_through_autoencoder", "through the autoencoder"),
    ("reached_target", "reached the target"),
    ("returned_fallback", "returned the failure fallback"),
)


def other_verdicts(run: dict[str, Any], clouds: int) -> str:
    """AdvPC's reconstruction, C&W's target, AOF's fallback: whichever the run has."""
    said = [f"{label} {run[field]} / {clouds}" for field, label in OTHER_VERDICTS if field in run]
    return "; ".join(said) or "–"


def reference_table(data: Path = DATA) -> str:
    report: dict[str, Any] = json.loads(data.read_text(encoding="utf-8"))
    clouds = report["clouds"]
    rows = [
        [
            NAMES.get(run["attack"], run["attack"]),
            run["setting"],
            run["implementation"],
            f"{run['fooled']} / {clouds}",
            f"{run['fooled_behind_sor']} / {clouds}",
            other_verdicts(run, clouds),
            f"{run['median_margin']:.2f}",
            f"{run['chamfer_sq_two_sided_mean']:.2e}",
            str(run["points"]),
            f"{run['seconds']:.0f}",
        ]
        for run in report["runs"]
    ]
    header = ["Attack", "Setting", "Code", "Fooled", "Fooled behind SOR", "Other verdicts"]
    header += ["Median margin", "Chamfer (sq., two-sided)", "Points left", "Seconds"]
    setting = (
        f"Reference: {report['reference']}. Victim: the {report['victim']} (encoder sha256"
        f" {report['encoder_sha256'][:12]}…), on its first"
        f" {clouds} clean-correct clouds of {report['dataset']}; untargeted unless the setting"
        f" says otherwise; {report['threads']} thread."
    )
    return wrap(setting) + "\n" + table(header, rows)
