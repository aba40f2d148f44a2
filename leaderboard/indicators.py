"""Attack-failure indicators that compare cells, computed from stored records (no torch).

A single cell can tell whether its attack raised the loss or converged
(`bench.evaluation.summary`); two failures only show across cells (Pintor et al., Indicators
of Attack Failure, NeurIPS 2022; Carlini et al., On Evaluating Adversarial Robustness, 2019):

- a larger budget did not lower robust accuracy: cells that differ only in the attack's eps
  (and its step size, which usually scales with eps);
- an attack without gradients (transfer, gradient-free, noise) left significantly fewer
  samples robust than a gradient attack with the same threat model on the same victim: the
  gradient attack's gradients are masked or it is misconfigured;
- another gradient attack (PGD-200 beside `standard`) left significantly fewer samples robust
  than the ranking attack with the same threat model on the same victim: the ranked number is
  too high there.

The last two compare the same samples with an exact McNemar test, so chance differences of a
stochastic victim stay quiet; each one's family is every such pair among the records given (a
table's records), and it fires on the Holm-Bonferroni adjusted p-value (family-wise error rate
5%), so one chance result among many pairs is not read as a failure. Each warning is attached
to the cell whose number is suspect.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bench.contracts.hashing import canonical_json
from bench.contracts.indicators import RANKING_ATTACK, warn
from bench.evaluation.statistics import holm_family
from bench.plan.cells import ATTACK_FIELDS
from bench.storage.store import Record
from leaderboard.compare import compare
from leaderboard.open_targets import has_extra_classes

BUDGET_FIELDS = {"eps", "step_size"}  # attack settings a budget sweep varies together
BLACK_BOX = ("scores", "transfer", "random")


def cross_cell_warnings(records: Iterable[Record]) -> dict[str, list[str]]:
    """Warnings per cell hash, from the cells given (only successful ones are compared)."""
    done = [r for r in records if r.status == "ok"]
    warnings: dict[str, list[str]] = {}
    found = [*_budget_warnings(done), *_masking_warnings(done), *_ranking_warnings(done)]
    for hash_, sentence in found:
        warnings.setdefault(hash_, []).append(sentence)
    return warnings


def _budget_warnings(records: list[Record]) -> list[tuple[str, str]]:
    groups: dict[str, list[tuple[float, Record]]] = {}
    for record in records:
        attack = record.cell.get("attack", {})
        eps = attack.get("config", {}).get("eps")
        if not isinstance(eps, int | float):
            continue
        key = _identity_without(record, budget_only=True)
        groups.setdefault(key, []).append((float(eps), record))
    found = []
    for members in groups.values():
        members.sort(key=lambda pair: pair[0])
        for (small, lower), (large, upper) in zip(members, members[1:], strict=False):
            low, high = lower.measured.robust_acc, upper.measured.robust_acc
            if large > small and low > 0 and high >= low:
                sentence = warn(
                    "budget_did_not_lower",
                    high=f"{100 * high:.1f}",
                    large=f"{large:g}",
                    low=f"{100 * low:.1f}",
                    small=f"{small:g}",
                )
                found.append((upper.cell_hash, sentence))
    return found


def _masking_warnings(records: list[Record]) -> list[tuple[str, str]]:
    pairs = [
        (white, black)
        for white, black in _same_victim_pairs(records)
        if white.measured.access == "gradient" and black.measured.access in BLACK_BOX
    ]
    tests = holm_family([compare(white, black).result for white, black in pairs])
    found = []
    for (white, black), test in zip(pairs, tests, strict=True):
        if test.difference > 0 and test.significant():
            sentence = warn(
                "black_box_beat_white_box",
                access=black.measured.access,
                attack=black.labels["attack"],
                black=f"{100 * test.accuracy_b:.1f}",
                white=f"{100 * test.accuracy_a:.1f}",
                p=f"{test.p_adjusted:.2g}",
                family=str(test.family),
            )
            found.append((white.cell_hash, sentence))
    return found


def _ranking_warnings(records: list[Record]) -> list[tuple[str, str]]:
    pairs = [
        (ranked, other)
        for ranked, other in _same_victim_pairs(records)
        if ranked.cell.get("attack", {}).get("name") == RANKING_ATTACK
        and other.measured.access == "gradient"
        and other.cell.get("attack", {}).get("name") != RANKING_ATTACK
    ]
    tests = holm_family([compare(ranked, other).result for ranked, other in pairs])
    found = []
    for (ranked, other), test in zip(pairs, tests, strict=True):
        if test.difference > 0 and test.significant():
            sentence = warn(
                "stronger_gradient_attack",
                attack=other.labels["attack"],
                other=f"{100 * test.accuracy_b:.1f}",
                ranked=f"{100 * test.accuracy_a:.1f}",
                p=f"{test.p_adjusted:.2g}",
                family=str(test.family),
            )
            found.append((ranked.cell_hash, sentence))
    return found


def _same_victim_pairs(records: list[Record]) -> list[tuple[Record, Record]]:
    """Every ordered pair of cells on the same victim and data with the same threat model."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        if has_extra_classes(record):  # its victim classifies more names: another victim
            continue
        groups.setdefault(_identity_without(record, budget_only=False), []).append(record)
    return [
        (a, b)
        for members in groups.values()
        for a in members
        for b in members
        if a is not b and _same_threat(a, b)
    ]


def _identity_without(record: Record, budget_only: bool) -> str:
    """The cell identity less its attack (or, with `budget_only`, less the attack's budget)."""
    identity: dict[str, Any] = {k: v for k, v in record.cell.items() if k not in ATTACK_FIELDS}
    if budget_only:
        attack = record.cell.get("attack", {})
        config = {k: v for k, v in attack.get("config", {}).items() if k not in BUDGET_FIELDS}
        identity["attack"] = {**attack, "config": config}
        identity["attack_auxiliary"] = record.cell.get("attack_auxiliary")
    return canonical_json(identity)


def _same_threat(a: Record, b: Record) -> bool:
    """Same norm, budget, point-count changes and reordering (penalties aside)."""
    keys = ("norm", "eps", "points_added", "points_dropped", "reordered")
    first, second = a.provenance.get("threat_model", {}), b.provenance.get("threat_model", {})
    return all(first.get(k) == second.get(k) for k in keys)
