"""Paired comparisons of methods evaluated on the same samples: differences, intervals, p-values.

Two records are compared sample by sample (matched by sample id): the difference of their
accuracies with Newcombe's paired 95% interval and the exact McNemar p-value
(`bench.evaluation.statistics`). A claim "A beats B" needs p < 0.05; otherwise the table says
the difference is not significant. Pure function of store records; no torch here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bench.evaluation.statistics import PairedComparison, paired_comparison
from bench.evaluation.summary import correct
from bench.storage.store import Record

SETTING = ("dataset", "attack", "defense")  # labels that must agree for a comparison


@dataclass(frozen=True)
class Comparison:
    a: Record
    b: Record
    outcome: str
    result: PairedComparison

    def verdict(self) -> str:
        if not self.result.significant():
            return "no significant difference"
        return "A better" if self.result.difference > 0 else "B better"


def compare(a: Record, b: Record, outcome: str = "robust") -> Comparison:
    """A against B on the samples both evaluated (matched by id); an error if there are none."""
    ids_a, ids_b = a.samples.get("id", []), b.samples.get("id", [])
    shared = sorted(set(ids_a) & set(ids_b))
    if not shared:
        raise ValueError(
            f"{a.cell_hash[:16]} and {b.cell_hash[:16]} share no sample ids: they were not"
            " evaluated on the same data, so no paired comparison is possible."
        )
    index_a = {sample: i for i, sample in enumerate(ids_a)}
    index_b = {sample: i for i, sample in enumerate(ids_b)}
    right_a, right_b = correct(a.samples, outcome), correct(b.samples, outcome)
    result = paired_comparison(
        [bool(right_a[index_a[s]]) for s in shared], [bool(right_b[index_b[s]]) for s in shared]
    )
    return Comparison(a, b, outcome, result)


def all_pairs(records: Iterable[Record], outcome: str = "robust") -> list[Comparison]:
    """Every pair of different methods (or seeds) within one setting (dataset, attack, defense)."""
    groups: dict[tuple[str, ...], list[Record]] = {}
    for record in records:
        if record.status == "ok" and record.samples.get("id"):
            key = tuple(record.labels.get(k, "") for k in SETTING)
            groups.setdefault(key, []).append(record)
    comparisons = []
    for key in sorted(groups):
        members = sorted(groups[key], key=_name)
        for a, b in itertools.combinations(members, 2):
            comparisons.append(compare(a, b, outcome))
    return comparisons


def to_markdown(comparisons: Sequence[Comparison]) -> str:
    """One row per pair: both accuracies, A - B with its 95% interval, McNemar's p, a verdict."""
    headers = ["Dataset", "Attack", "Defense", "A", "B", "n", "A (%)", "B (%)"]
    headers += ["A − B (pp) [95% CI]", "McNemar p", "Verdict"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for c in comparisons:
        r = c.result
        low, high = r.interval
        values = [c.a.labels.get(k, "") for k in SETTING]
        values += [_name(c.a, c.b), _name(c.b, c.a), str(r.n)]
        values += [f"{100 * r.accuracy_a:.1f}", f"{100 * r.accuracy_b:.1f}"]
        values += [f"{100 * r.difference:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"]
        values += [f"{r.p_value:.3g}", c.verdict()]
        lines.append("| " + " | ".join(values) + " |")
    return "\n".join(lines)


def _name(record: Record, other: Record | None = None) -> str:
    """The method label, with the seed when it is not 0 and the corpus when the pair differ."""
    seed = record.cell.get("seed", 0)
    name = record.labels["method"] + (f" (seed {seed})" if seed else "")
    corpus = record.labels.get("corpus")
    if other is not None and corpus != other.labels.get("corpus"):
        name += f" trained on {corpus}"
    return name
