"""Leaderboard tracks: records grouped by (dataset, threat model), one entry per victim.

A track is what a leaderboard ranks within: one evaluation dataset and one threat model (norm
and budget, or a point-count change), as the cells describe it. Within a track, an entry is
one victim (method, weights, teacher, training corpus, defense, seed), and its robust
accuracy is the per-sample worst case over every attack cell of the track that evaluated it:
a sample counts as robust only if every attack run of every such cell left it correct.

Entries are ranked by that accuracy, but an entry's rank is one plus the number of entries
that beat it by the exact McNemar test on their shared samples, its p-value Holm-Bonferroni
adjusted over every pair of current entries in the track (the family the page's matrix shows,
family-wise error rate 5%): results no test separates share a rank, reported as a tie, not
ordered. A track ranks only like with like: the entries evaluated under its reference attack
configuration (the standard attack, `RANKING_ATTACK`, as most entries ran it; the
configuration most entries share when none ran it), so that no entry ranks high only because
it was attacked less hard than the others; the rest are listed apart, unranked. Two victims
whose labels coincide (two plugin versions, a stale record beside a fresh one) stay two
entries; each says what tells it apart, and all but the most recently computed are marked
superseded. Pure function of store records; no torch here.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import combinations
from typing import Any

import numpy as np

from bench.contracts.accuracy import correct, wilson_interval
from bench.contracts.hashing import canonical_json, sha256_of
from bench.contracts.indicators import RANKING_ATTACK
from bench.evaluation.statistics import PairedComparison, holm_family
from bench.plan.cells import ATTACK_FIELDS
from bench.storage.store import Record
from leaderboard.attack_config import attack_key, describe
from leaderboard.compare import paired_on_shared_ids
from leaderboard.open_targets import has_extra_classes
from leaderboard.tables import protocol_label

VICTIM_LABELS = ("method", "teacher", "corpus", "defense")
NO_CHANGE = "no change"  # the threat model of the clean cell ("none" attack)


@dataclass(frozen=True)
class Reference:
    """The attack configuration a track ranks by: its entries were all evaluated under it."""

    attack: dict[str, Any]  # a cell's attack identity: name, version, config
    standard: bool  # the ranking attack; else the configuration most entries share

    @property
    def label(self) -> str:
        return describe(self.attack)

    @property
    def heading(self) -> str:
        """What the unranked entries of the track lack, said above them."""
        return f"Not ranked: not evaluated under {self.label}"

    @property
    def note(self) -> str:
        """How the reference was chosen, for the reader of a track's page or table."""
        if self.standard:
            return f"Ranked: the entries evaluated under the standard attack, {self.label}."
        return (
            f"No entry was evaluated under the standard attack ({RANKING_ATTACK}); ranked: the"
            f" entries evaluated under the configuration most of them share, {self.label}."
        )


@dataclass(frozen=True)
class Track:
    dataset: str
    threat: str  # as cells describe it: "linf 0.005", "points added 32", ...
    reference: Reference | None = field(default=None, compare=False)

    @property
    def title(self) -> str:
        return f"{self.dataset}, {self.threat}"

    @property
    def slug(self) -> str:
        signed = re.sub(r"(?<!\w)-(?=\d)", "minus ", self.title.replace("+", "plus "))
        return re.sub(r"[^a-z0-9]+", "-", signed.lower()).strip("-")


@dataclass
class Entry:
    """One victim's standing in a track."""

    victim: dict[str, Any]  # display labels: method, teacher, corpus, defense, seed
    victim_hash: str  # of the victim's identity: everything in a cell but its attack
    records: list[Record]
    warnings: list[str] = field(default_factory=list)
    rank: int = 0
    tied: bool = False  # another entry has the same rank
    distinguished_by: str = ""  # for entries whose labels coincide: what differs
    superseded: bool = False
    unranked: bool = False  # not evaluated under the track's reference attack configuration

    @property
    def ranked(self) -> bool:
        return not (self.superseded or self.unranked)

    @cached_property
    def ids(self) -> list[str]:
        """The samples every cell of the entry evaluated, in the first cell's order."""
        shared = set(self.records[0].samples["id"])
        for record in self.records[1:]:
            shared &= set(record.samples["id"])
        return [i for i in self.records[0].samples["id"] if i in shared]

    @cached_property
    def robust(self) -> np.ndarray:
        """Per sample of `ids`: robust against every run of every cell."""
        return np.logical_and.reduce([_by_id(r, "robust", self.ids) for r in self.records])

    @cached_property
    def clean(self) -> np.ndarray:
        return _by_id(self.records[0], "clean", self.ids)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def robust_acc(self) -> float:
        return float(self.robust.mean()) if self.n else float("nan")

    @property
    def robust_ci(self) -> tuple[float, float]:
        return wilson_interval(int(self.robust.sum()), self.n)

    @property
    def clean_acc(self) -> float:
        return float(self.clean.mean()) if self.n else float("nan")

    @property
    def clean_ci(self) -> tuple[float, float]:
        return wilson_interval(int(self.clean.sum()), self.n)

    @property
    def strongest(self) -> Record:
        """The cell with the lowest robust accuracy of its own."""
        return min(self.records, key=lambda r: r.measured.robust_acc)

    @property
    def strongest_attack(self) -> str:
        """The strongest cell's attack with its configuration, as a table shows it."""
        return describe(self.strongest.cell.get("attack") or {})

    @property
    def naive_acc(self) -> float | None:
        """The lowest accuracy a non-adaptive run found (one draw per step against a stochastic
        victim, or crafted on the undefended victim), or None when no cell has such a run."""
        found = [
            accuracy
            for r in self.records
            for run in ("naive", "unaware")
            if (accuracy := r.measured.run_acc(run)) is not None
        ]
        return min(found) if found else None

    @property
    def label(self) -> str:
        """Method, defense if any, and what tells it from an entry with the same labels."""
        victim = self.victim
        label = victim["method"] + (
            "" if victim["defense"] == "none" else f" + {victim['defense']}"
        )
        return label + (f" ({self.distinguished_by})" if self.distinguished_by else "")

    @property
    def protocol(self) -> str:
        """Zero-shot only if every cell of the entry is."""
        labels = {protocol_label(r.measured) for r in self.records}
        only = labels.pop() if len(labels) == 1 else None
        # Cells that differ, or that do not say (stored before cells recorded it), are never
        # called zero-shot.
        return only or "seen classes"

    @property
    def reported(self) -> dict[str, Any] | None:
        """The release authors' clean accuracy on this data (top1 in %, source), if declared."""
        return self.records[0].provenance.get("reported")


def tracks(
    records: Iterable[Record], extra_warnings: Mapping[str, Sequence[str]] | None = None
) -> dict[Track, list[Entry]]:
    """Every track of the finished records with a threat model, entries ranked best first.

    `extra_warnings`: cross-cell indicators by cell hash (`leaderboard.indicators`).
    """
    extra_warnings = extra_warnings or {}
    grouped: dict[Track, dict[str, Entry]] = {}
    for record in records:
        if record.status != "ok" or record.measured.threat_model in ("", NO_CHANGE):
            continue
        if has_extra_classes(record):  # another classifier than the evaluated one
            continue
        threat = record.measured.threat_model
        track = Track(record.labels["dataset"], threat)
        victim = victim_identity(record)
        key = sha256_of(victim)
        by_victim = grouped.setdefault(track, {})
        if key not in by_victim:
            labels = {k: record.labels[k] for k in VICTIM_LABELS}
            by_victim[key] = Entry({**labels, "seed": record.cell.get("seed")}, key, [])
        entry = by_victim[key]
        entry.records.append(record)
        for warning in [
            *record.measured.warnings,
            *extra_warnings.get(record.cell_hash, []),
        ]:
            entry.warnings.append(f"{record.labels['attack']}: {warning}")
    ranked = {}
    for track in sorted(grouped, key=lambda t: (t.dataset, t.threat)):
        entries = list(grouped[track].values())
        _mark_collisions(entries)
        reference = _reference([e for e in entries if not e.superseded])
        for entry in entries:
            entry.unranked = not entry.superseded and attack_key(reference.attack) not in {
                attack_key(r.cell.get("attack") or {}) for r in entry.records
            }
        ranked[dataclasses.replace(track, reference=reference)] = _rank(entries)
    return ranked


def _reference(current: Sequence[Entry]) -> Reference:
    """The standard attack's configuration most entries ran; when none ran it, the attack
    configuration most entries share (ties go to the first in name order)."""
    shared: dict[str, tuple[int, dict[str, Any]]] = {}
    for entry in current:
        ran = {attack_key(a): a for a in (r.cell.get("attack") or {} for r in entry.records)}
        for key, attack in ran.items():
            shared[key] = (shared.get(key, (0, attack))[0] + 1, attack)
    standard = {k: v for k, v in shared.items() if v[1].get("name") == RANKING_ATTACK}
    pool = standard or shared
    key = min(pool, key=lambda k: (-pool[k][0], describe(pool[k][1]), k))
    return Reference(pool[key][1], bool(standard))


def victim_identity(record: Record) -> dict[str, Any]:
    """A cell's identity less its attack: what its victim and evaluation data are."""
    return {k: v for k, v in record.cell.items() if k not in ATTACK_FIELDS}


def comparison(a: Entry, b: Entry) -> PairedComparison | None:
    """A's worst-case robustness against B's on their shared samples; None if they share none."""
    return paired_on_shared_ids(a.ids, a.robust, b.ids, b.robust)


def paired_tests(current: Sequence[Entry]) -> dict[tuple[int, int], PairedComparison]:
    """Entry i against entry j (positions in `current`) for every two that share samples, both
    ways round, Holm-adjusted over the distinct pairs: the family a track page shows."""
    pairs = [
        (i, j, test)
        for i, j in combinations(range(len(current)), 2)
        if (test := comparison(current[i], current[j])) is not None
    ]
    tests = {}
    for (i, j, _), test in zip(pairs, holm_family([t for *_, t in pairs]), strict=True):
        tests[i, j] = test
        mirrored = comparison(current[j], current[i])
        assert mirrored is not None  # the same shared samples
        tests[j, i] = dataclasses.replace(mirrored, p_adjusted=test.p_adjusted, family=test.family)
    return tests


def _rank(entries: list[Entry]) -> list[Entry]:
    """Ranked entries best first, then the unranked ones best first, then the superseded ones
    (both rank 0).

    An entry's rank is one plus the number of entries that beat it significantly: by the
    paired test on their shared samples, or by intervals that do not overlap when they share
    none. Entries no one separates share a rank; the rule does not chain, so a run of close
    neighbours cannot tie the best with the worst.
    """
    current = sorted((e for e in entries if e.ranked), key=lambda e: (-e.robust_acc, -e.clean_acc))
    tests = paired_tests(current)
    for i, entry in enumerate(current):
        entry.rank = 1 + sum(
            _beats(other, entry, tests.get((j, i)))
            for j, other in enumerate(current)
            if other is not entry
        )
    for entry in current:
        entry.tied = sum(other.rank == entry.rank for other in current) > 1
    current.sort(key=lambda e: (e.rank, -e.robust_acc, -e.clean_acc))
    apart = sorted((e for e in entries if e.unranked), key=lambda e: (-e.robust_acc, -e.clean_acc))
    return current + apart + [e for e in entries if e.superseded]


def _beats(a: Entry, b: Entry, test: PairedComparison | None) -> bool:
    """Whether A's worst-case robust accuracy is significantly above B's (by `test`, their
    Holm-adjusted paired test, when they share samples)."""
    if test is not None:
        return test.difference > 0 and test.significant()
    return a.robust_ci[0] > b.robust_ci[1]


def _mark_collisions(entries: list[Entry]) -> None:
    """Entries whose labels coincide: say what differs, and supersede all but the newest."""
    by_label: dict[str, list[Entry]] = {}
    for entry in entries:
        by_label.setdefault(canonical_json(entry.victim), []).append(entry)
    for same in by_label.values():
        if len(same) < 2:
            continue
        flat = [_flatten(victim_identity(e.records[0])) for e in same]
        differing = sorted(k for k in set().union(*flat) if len({str(f.get(k)) for f in flat}) > 1)
        newest = max(same, key=_finished)
        for entry, identity in zip(same, flat, strict=True):
            entry.distinguished_by = ", ".join(f"{k}={identity.get(k)}" for k in differing)
            entry.superseded = entry is not newest


def _finished(entry: Entry) -> str:
    return max(r.provenance.get("finished_at", "") for r in entry.records)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, inner in value.items():
            flat.update(_flatten(inner, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _by_id(record: Record, outcome: str, ids: Sequence[str]) -> np.ndarray:
    values = correct(record.samples, outcome)
    index = {sample: k for k, sample in enumerate(record.samples["id"])}
    return np.array([bool(values[index[i]]) for i in ids], dtype=bool)
