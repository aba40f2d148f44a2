"""The cross-encoder transfer matrix: clouds crafted on one method, judged by another.

Zero-shot encoders distilled from one teacher share its text space, so an adversarial cloud
crafted on one of them is a natural black-box attack on the others. The transfer cells of a
store (attack `transfer`) form one matrix per dataset, threat model, defense, training corpus
and crafting attack: a row per evaluated (target) method, a column per source method the
clouds were crafted on, each cell the robust accuracy of the target, averaged over the
training seeds both were trained with (each seed's source and target share corpus and seed).
The diagonal, where source and target coincide, is the white-box attack. A source crafted
under another prompt-template set (`templates`) is a column of its own: on its own method it
is prompt transfer, the same weights classifying with other prompts. Pure function of store
records; no torch here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import mean

from bench.storage.store import Record


@dataclass(frozen=True)
class TransferMatrix:
    """Robust accuracy of each target method against clouds crafted on each source method."""

    dataset: str
    threat: str
    defense: str
    corpus: str
    crafting: str  # the attack run on the source, e.g. "apgd eps 0.01"
    accuracy: Mapping[tuple[str, str], tuple[float, ...]]  # (target, source) -> one per seed

    @property
    def targets(self) -> list[str]:
        return sorted({target for target, _ in self.accuracy})

    @property
    def sources(self) -> list[str]:
        return sorted({source for _, source in self.accuracy})

    def mean(self, target: str, source: str) -> float | None:
        """The target's robust accuracy against the source's clouds, over seeds; None: not run."""
        values = self.accuracy.get((target, source))
        return mean(values) if values else None

    @property
    def title(self) -> str:
        defended = "" if self.defense == "none" else f", behind {self.defense}"
        return f"{self.dataset}, {self.threat}{defended}: {self.crafting} transferred"

    @property
    def slug(self) -> str:
        return "transfer-" + re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


def transfer_matrices(records: Iterable[Record]) -> list[TransferMatrix]:
    """One matrix per group of finished transfer cells (see the module docstring)."""
    groups: dict[tuple[str, str, str, str, str], dict[tuple[str, str], list[float]]] = {}
    for record in records:
        attack = record.cell.get("attack") or {}
        if record.status != "ok" or attack.get("name") != "transfer":
            continue
        config = attack.get("config") or {}
        key: tuple[str, str, str, str, str] = (
            record.labels["dataset"],
            record.measured.threat_model,
            record.labels.get("defense", "none"),
            record.labels.get("corpus", ""),
            _crafting(config),
        )
        source = str(config.get("source", "?"))
        if config.get("templates"):  # crafted under another prompt set: a column of its own
            source += f" ({config['templates']} prompts)"
        pair = (record.labels["method"], source)
        groups.setdefault(key, {}).setdefault(pair, []).append(record.measured.robust_acc)
    return [
        TransferMatrix(*key, {pair: tuple(values) for pair, values in cells.items()})
        for key, cells in sorted(groups.items())
    ]


def _crafting(config: Mapping[str, object]) -> str:
    """The crafting attack in a few words: its name, preset and eps override."""
    parts = [str(config.get("attack", "?"))]
    if config.get("preset"):
        parts.append(f"preset {config['preset']}")
    eps = config.get("eps")
    if isinstance(eps, int | float) and not isinstance(eps, bool):
        parts.append(f"eps {eps:g}")
    return " ".join(parts)


def to_csv(matrix: TransferMatrix) -> str:
    """The matrix as CSV: a row per target, a column per source, mean robust accuracy in %."""
    lines = ["target \\ source," + ",".join(matrix.sources)]
    for target in matrix.targets:
        values = [matrix.mean(target, source) for source in matrix.sources]
        lines.append(target + "," + ",".join("" if v is None else f"{100 * v:.1f}" for v in values))
    return "\n".join(lines) + "\n"
