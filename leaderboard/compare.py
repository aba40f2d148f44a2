"""Paired comparisons of methods evaluated on the same samples: differences, intervals, p-values.

Two records are compared sample by sample (matched by sample id): the difference of their
accuracies with the exact McNemar p-value and the exact interval that inverts the same test
(`bench.evaluation.statistics`). The family is every pair one table shows (`all_pairs`, one
`bench compare` call): its p-values are Holm-Bonferroni adjusted, which keeps the family-wise
error rate at 5%, and a claim "A beats B" needs an adjusted p < 0.05; the intervals are at the
level that agrees with it, so one excludes 0 exactly when its pair is significant. Otherwise
the pair is "equivalent (within ±2 points)" when a paired TOST shows it (Newcombe's 90%
interval inside ±2 points), and "not significant" when it does not: never "no difference".
Pure function of store records; no torch here.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bench.contracts.accuracy import correct
from bench.evaluation.statistics import (
    MARGIN,
    PairedComparison,
    holm_family,
    paired_comparison,
)
from bench.storage.store import Record

SETTING = ("dataset", "attack", "defense")  # labels that must agree for a comparison


@dataclass(frozen=True)
class Comparison:
    a: Record
    b: Record
    outcome: str
    result: PairedComparison

    def verdict(self) -> str:
        return verdict(self.result)


def verdict(result: PairedComparison) -> str:
    """The verdict on one pair: A better, B better, equivalent (TOST) or not significant."""
    if result.significant():
        return "A better" if result.difference > 0 else "B better"
    if result.equivalent():
        return f"equivalent (within ±{100 * MARGIN:g} points)"
    return "not significant"


def family_note(comparisons: Sequence[Comparison]) -> str:
    """The sentences a table of paired tests is printed with: its family, correction, what its
    interval is, the equivalence margin."""
    family = comparisons[0].result.family if comparisons else 0
    return (
        f"Family: the {family} paired test{'s' if family != 1 else ''} of this table;"
        " significance uses Holm-Bonferroni adjusted p-values (family-wise error rate 5%)."
        f" The interval ({_level(comparisons)}) inverts the same exact McNemar test, given the"
        " samples only one of the two gets right, at the level of Holm's last step"
        " (1 − 0.05 / the number of tests not rejected): it excludes 0 exactly when p (Holm)"
        f" < 0.05. Equivalent: a paired TOST shows |A − B| < {100 * MARGIN:g} points (the"
        " 90% Newcombe interval, which also counts the uncertainty in how many samples the two"
        " disagree on, inside the margin); otherwise a non-significant pair is only not"
        " significant."
    )


def _level(comparisons: Sequence[Comparison]) -> str:
    """The intervals' level in %, one per table since the table is the family."""
    confidence = comparisons[0].result.confidence if comparisons else 0.95
    return f"{100 * confidence:.4g}%"


def holm_adjusted(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """The comparisons with their tests Holm-adjusted, the family being exactly these."""
    results = holm_family([c.result for c in comparisons])
    return [dataclasses.replace(c, result=r) for c, r in zip(comparisons, results, strict=True)]


def compare(a: Record, b: Record, outcome: str = "robust") -> Comparison:
    """A against B on the samples both evaluated (matched by id); an error if there are none."""
    result = paired_on_shared_ids(
        a.samples.get("id", []),
        correct(a.samples, outcome),
        b.samples.get("id", []),
        correct(b.samples, outcome),
    )
    if result is None:
        raise ValueError(
            f"{a.cell_hash[:16]} and {b.cell_hash[:16]} share no sample ids: they were not"
            " evaluated on the same data, so no paired comparison is possible."
        )
    return Comparison(a, b, outcome, result)


def paired_on_shared_ids(
    ids_a: Sequence[str],
    right_a: Sequence[bool] | np.ndarray,
    ids_b: Sequence[str],
    right_b: Sequence[bool] | np.ndarray,
) -> PairedComparison | None:
    """The paired comparison of two per-sample outcomes on the sample ids both have; None if
    they share none."""
    a, b = shared_outcomes(ids_a, right_a, ids_b, right_b)
    return paired_comparison(a, b) if a else None


def shared_outcomes(
    ids_a: Sequence[str],
    right_a: Sequence[bool] | np.ndarray,
    ids_b: Sequence[str],
    right_b: Sequence[bool] | np.ndarray,
) -> tuple[list[bool], list[bool]]:
    """Two per-sample outcomes on the sample ids both have, aligned (in sorted id order)."""
    shared = sorted(set(ids_a) & set(ids_b))
    index_a = {sample: i for i, sample in enumerate(ids_a)}
    index_b = {sample: i for i, sample in enumerate(ids_b)}
    return (
        [bool(right_a[index_a[s]]) for s in shared],
        [bool(right_b[index_b[s]]) for s in shared],
    )


def all_pairs(records: Iterable[Record], outcome: str = "robust") -> list[Comparison]:
    """Every pair of cells within one setting (dataset, attack, defense) and training seed,
    Holm-adjusted as one family.

    Cells of one seed are different methods (or corpora, or configs) on the same samples;
    training variance between seeds is read from `across_seeds`, not from cross-seed pairs.
    """
    groups: dict[tuple[object, ...], list[Record]] = {}
    for record in records:
        if record.status == "ok" and record.samples.get("id"):
            key = (*(record.labels.get(k, "") for k in SETTING), record.cell.get("seed", 0))
            groups.setdefault(key, []).append(record)
    comparisons = []
    for key in sorted(groups, key=str):
        members = sorted(groups[key], key=_name)
        for a, b in itertools.combinations(members, 2):
            comparisons.append(compare(a, b, outcome))
    return holm_adjusted(comparisons)


@dataclass(frozen=True)
class SeedSummary:
    """One pair of methods in one setting, over the training seeds both were run with."""

    setting: tuple[str, ...]
    a: str
    b: str
    comparisons: tuple[Comparison, ...]

    def verdict(self) -> str:
        """A claim only when every seed's paired test agrees on it."""
        verdicts = [c.verdict() for c in self.comparisons]
        seeds = len(verdicts)
        if len(set(verdicts)) == 1:
            every = "every seed" if seeds > 1 else "one seed"
            return f"{verdicts[0]} ({every})"
        counts = ", ".join(f"{v} in {verdicts.count(v)}" for v in sorted(set(verdicts)))
        return f"inconsistent across seeds: {counts} of {seeds}"


def across_seeds(comparisons: Sequence[Comparison]) -> list[SeedSummary]:
    """The per-seed comparisons of each method pair and setting, gathered."""
    gathered: dict[tuple[object, ...], list[Comparison]] = {}
    for c in comparisons:
        setting = tuple(c.a.labels.get(k, "") for k in SETTING)
        key = (setting, _name(c.a, c.b, seed=False), _name(c.b, c.a, seed=False))
        gathered.setdefault(key, []).append(c)
    return [
        SeedSummary(setting, a, b, tuple(group))  # type: ignore[arg-type]
        for (setting, a, b), group in gathered.items()
    ]


def to_markdown(comparisons: Sequence[Comparison]) -> str:
    """One row per pair: both accuracies, A - B with its exact interval at the family's level,
    McNemar's p raw and Holm-adjusted within the rows given, a verdict."""
    headers = ["Dataset", "Attack", "Defense", "A", "B", "n", "A (%)", "B (%)"]
    headers += [f"A − B (pp) [{_level(comparisons)} CI]", "McNemar p", "p (Holm)", "Verdict"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for c in comparisons:
        r = c.result
        low, high = r.interval
        values = [_setting(c.a, c.b, key) for key in SETTING]
        values += [_name(c.a, c.b), _name(c.b, c.a), str(r.n)]
        values += [f"{100 * r.accuracy_a:.1f}", f"{100 * r.accuracy_b:.1f}"]
        values += [f"{100 * r.difference:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"]
        values += [f"{r.p_value:.3g}", f"{r.p_adjusted:.3g}", c.verdict()]
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines)


def seeds_to_markdown(summaries: Sequence[SeedSummary]) -> str:
    """One row per method pair and setting: mean accuracies over seeds, each seed's A − B."""
    headers = ["Dataset", "Attack", "Defense", "A", "B", "Seeds", "A mean (%)", "B mean (%)"]
    headers += ["A − B per seed (pp)", "Verdict"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for summary in summaries:
        results = [c.result for c in summary.comparisons]
        mean_a = sum(r.accuracy_a for r in results) / len(results)
        mean_b = sum(r.accuracy_b for r in results) / len(results)
        per_seed = ", ".join(
            f"{100 * c.result.difference:+.1f}{'*' if c.result.significant() else ''}"
            for c in summary.comparisons
        )
        values = [*summary.setting, summary.a, summary.b, str(len(results))]
        values += [f"{100 * mean_a:.1f}", f"{100 * mean_b:.1f}", per_seed, summary.verdict()]
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines)


def _setting(a: Record, b: Record, key: str) -> str:
    """A setting label of the pair: one if they share it, "A's / B's" if two cells chosen by
    hash differ in it (two attacks on one victim, say)."""
    first, second = a.labels.get(key, ""), b.labels.get(key, "")
    return first if first == second else f"{first} / {second}"


def _name(record: Record, other: Record | None = None, seed: bool = True) -> str:
    """The method label, with the seed when it is not 0 and the corpus when the pair differ."""
    number = record.cell.get("seed", 0)
    name = record.labels["method"] + (f" (seed {number})" if seed and number else "")
    corpus = record.labels.get("corpus")
    if other is not None and corpus != other.labels.get("corpus"):
        name += f" trained on {corpus}"
    return name
