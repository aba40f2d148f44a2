"""Our attacks beside the reference implementations, from the committed benchmark output.

`benchmarks/reference_attacks.py --reference CHECKOUT` writes `benchmarks/reference_attacks.json`
(the reference code's point drop, kNN and AdvPC and ours on the same victim, clouds and
budget); this renders it as the table of docs/attacks.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prose import table, wrap

DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "reference_attacks.json"
NAMES = {"point_drop": "point drop", "knn": "kNN", "advpc": "AdvPC"}


def through(run: dict[str, Any], clouds: int) -> str:
    """AdvPC's second verdict: the victim on the autoencoder's reconstruction."""
    fooled = run.get("fooled_through_autoencoder")
    return "–" if fooled is None else f"{fooled} / {clouds}"


def reference_table(data: Path = DATA) -> str:
    report: dict[str, Any] = json.loads(data.read_text(encoding="utf-8"))
    clouds = report["clouds"]
    rows = [
        [
            NAMES.get(run["attack"], run["attack"]),
            run["implementation"],
            f"{run['fooled']} / {clouds}",
            f"{run['fooled_behind_sor']} / {clouds}",
            through(run, clouds),
            f"{run['median_margin']:.2f}",
            f"{run['chamfer_sq_two_sided_mean']:.2e}",
            str(run["points"]),
            f"{run['seconds']:.0f}",
        ]
        for run in report["runs"]
    ]
    header = ["Attack", "Code", "Fooled", "Fooled behind SOR", "Through the autoencoder"]
    header += ["Median margin", "Chamfer (sq., two-sided)", "Points left", "Seconds"]
    steps = report["steps"]
    setting = (
        f"Reference: {report['reference']}. Victim: the {report['victim']}, on its first"
        f" {clouds} clean-correct clouds of {report['dataset']}; untargeted, one thread. Point"
        f" drop {report['drop']['points']} points ({report['drop']['per_round']} per round),"
        f" kNN {steps['knn']} steps, AdvPC {steps['advpc']} steps."
    )
    return wrap(setting) + "\n" + table(header, rows)
