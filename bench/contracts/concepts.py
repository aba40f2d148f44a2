"""Seen in training by concept, not by string: class names mapped to WordNet-style concepts.

A zero-shot claim is only as good as its notion of "unseen". Exact strings call ModelNet40's
"monitor" unseen after training on ShapeNet's "display", though every monitor is a display. The
rule here: a corpus that has a synonym or a hypernym of an evaluated class has seen that class
(a hyponym does not count: training on monitors says little about other displays).

Names map to concepts through a hand-built table (`bench/data/concepts.tsv`, package data): WordNet
3.0 synsets with their lemmas and the ancestors that matter among the shipped datasets' names.
A name the table lacks is its own concept (its folded form), so it is seen by exact match only.
The table is constant package data: loaded once, and validated on load so that a mistake in it
is one clear error instead of a silently wrong zero-shot label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.contracts.errors import DataError

TABLE = Path(__file__).parent.parent / "data" / "concepts.tsv"
COLUMNS = 4  # id, names, ancestors, note


def fold(name: str) -> str:
    """A name as the table keys it: lower case, "_" and "-" as spaces, spaces collapsed."""
    return " ".join(re.split(r"[\s_\-]+", name.lower())).strip()


@dataclass(frozen=True)
class Concepts:
    """Names to concept ids, and each concept's nearest ancestors among the table's concepts."""

    ids: Mapping[str, str]  # folded name -> concept id
    parents: Mapping[str, tuple[str, ...]]

    def concept_of(self, name: str) -> str:
        """The concept id of a class name; the folded name itself when the table lacks it."""
        folded = fold(name)
        return self.ids.get(folded, folded)

    def ancestors(self, concept: str) -> frozenset[str]:
        """Every concept above `concept` (none for a name the table lacks)."""
        found: set[str] = set()
        stack = list(self.parents.get(concept, ()))
        while stack:
            parent = stack.pop()
            if parent not in found:
                found.add(parent)
                stack.extend(self.parents.get(parent, ()))
        return frozenset(found)

    def seen_names(self, evaluated: Iterable[str], trained: Iterable[str]) -> list[str]:
        """The evaluated names whose concept, or an ancestor of it, a trained name has, sorted."""
        known = {self.concept_of(name) for name in trained}
        return sorted(
            name
            for name in set(evaluated)
            if self.concept_of(name) in known or self.ancestors(self.concept_of(name)) & known
        )


def load_concepts(path: Path) -> Concepts:
    """The table at `path`, checked: well-formed rows, each name in one concept, every ancestor
    a concept of the table, no cycle."""
    ids: dict[str, str] = {}
    parents: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        where = f"{path.name} line {number}"
        cells = line.split("\t")
        if len(cells) != COLUMNS or not cells[0] or not cells[1]:
            raise DataError(
                f"{where} needs {COLUMNS} tab-separated columns (id, names, ancestors, note),"
                " the first two not empty."
            )
        concept, names, above = cells[0], cells[1], cells[2]
        if concept in parents:
            raise DataError(f"{where} repeats the concept {concept!r}; give it one row.")
        parents[concept] = tuple(p.strip() for p in above.split(",") if p.strip())
        for name in (fold(n) for n in names.split(",") if n.strip()):
            if ids.get(name, concept) != concept:
                raise DataError(
                    f"{where} puts {name!r} in {concept!r}, but it is already in {ids[name]!r};"
                    " a name belongs to one concept."
                )
            ids[name] = concept
    for concept, ancestry in parents.items():
        unknown = [p for p in ancestry if p not in parents]
        if unknown:
            raise DataError(
                f"{path.name} gives {concept!r} the ancestor {unknown[0]!r}, which has no row."
            )
    table = Concepts(ids, parents)
    for concept in parents:
        if concept in table.ancestors(concept):
            raise DataError(f"{path.name} makes {concept!r} its own ancestor; break the cycle.")
    return table


@cache
def shipped() -> Concepts:
    """The package's table."""
    return load_concepts(TABLE)


def concept_of(name: str) -> str:
    return shipped().concept_of(name)


def ancestors(concept: str) -> frozenset[str]:
    return shipped().ancestors(concept)


def seen_names(evaluated: Iterable[str], trained: Iterable[str]) -> list[str]:
    """The evaluated names a corpus of `trained` names has seen, by the package's table."""
    return shipped().seen_names(evaluated, trained)
