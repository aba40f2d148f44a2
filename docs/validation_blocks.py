"""The recipe choices, made on the validation classes: their accuracies and paired tests.

Written from the Parquet files of the published validation run (`bench publish --spec
validation`). Each choice sets one setting of one method against its default (class prompts,
60 clouds per class, OpenShape's hard negatives on), on the same validation clouds per seed;
its tests are Holm-adjusted over every test of the choices table, and the alternative is
chosen only where it is significantly better in every seed (docs/protocol.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import pandas as pd
from prose import pct, table

from bench.evaluation.statistics import PairedComparison, holm_family, wilson_interval
from leaderboard.compare import paired_on_shared_ids

DATA = Path(__file__).resolve().parent / "validation-site" / "data"
OPTION = re.compile(r"\(([^()]*)\)")  # a label's settings: "openshape(hard_negatives=False)"

Variant = tuple[str, str]  # (method label, corpus label)


@dataclass(frozen=True)
class Choice:
    """One setting of one method: its default variant against the alternative."""

    method: str
    default: Variant
    alternative: Variant

    @property
    def setting(self) -> str:
        """What the alternative changes, as its label says it."""
        changed = self.alternative[0] if self.alternative[0] != self.default[0] else ""
        changed = changed or self.alternative[1]
        return ", ".join(OPTION.findall(changed))


class Validation:
    """The validation run: clean zero-shot accuracy on the held-out validation classes."""

    def __init__(self, data: Path = DATA) -> None:
        self.cells = pd.read_parquet(data / "cells.parquet")
        labels = self.cells[["cell_hash", "method", "corpus", "seed"]]
        samples = pd.read_parquet(data / "samples.parquet").merge(labels, on="cell_hash")
        samples["clean"] = samples["clean_pred"] == samples["label"]
        self.samples = samples

    @cached_property
    def seeds(self) -> list[int]:
        return sorted(int(s) for s in self.cells["seed"].unique())

    @cached_property
    def default_corpus(self) -> str:
        """The corpus label without settings: class prompts, the default corpus size."""
        (plain,) = [c for c in self.cells["corpus"].unique() if not OPTION.search(c)]
        return str(plain)

    @cached_property
    def variants(self) -> list[Variant]:
        pairs = self.cells[["method", "corpus"]].drop_duplicates()
        return sorted((str(m), str(c)) for m, c in pairs.itertuples(index=False))

    @cached_property
    def choices(self) -> list[Choice]:
        """Every variant that differs from its method's default in one setting."""
        found = []
        for method, corpus in self.variants:
            base = OPTION.sub("", method)
            default = (base, self.default_corpus)
            if (method, corpus) != default and default in self.variants:
                found.append(Choice(base, default, (method, corpus)))
        return found

    def right(self, variant: Variant, seed: int) -> pd.DataFrame:
        method, corpus = variant
        rows = self.samples[
            (self.samples["method"] == method)
            & (self.samples["corpus"] == corpus)
            & (self.samples["seed"] == seed)
        ]
        if rows.empty:
            raise ValueError(f"no validation cell for {method} on {corpus} with seed {seed}")
        return rows[["id", "clean"]]

    @cached_property
    def tests(self) -> dict[Choice, tuple[PairedComparison, ...]]:
        """Alternative against default per seed, Holm-adjusted over the whole table."""
        raw = []
        for choice in self.choices:
            for seed in self.seeds:
                a, b = self.right(choice.alternative, seed), self.right(choice.default, seed)
                test = paired_on_shared_ids(
                    list(a["id"]), list(a["clean"]), list(b["id"]), list(b["clean"])
                )
                if test is None:
                    raise ValueError(f"{choice.setting} shares no clouds with its default")
                raw.append(test)
        adjusted = iter(holm_family(raw))
        return {c: tuple(next(adjusted) for _ in self.seeds) for c in self.choices}

    def chosen(self, choice: Choice) -> bool:
        """The alternative wins only if significantly better in every seed."""
        return all(t.significant() and t.difference > 0 for t in self.tests[choice])


def accuracy_table(data: Validation) -> str:
    """Clean validation accuracy in % [95% Wilson], per method variant and seed."""
    rows = []
    for variant in data.variants:
        values = []
        for seed in data.seeds:
            right = data.right(variant, seed)["clean"]
            low, high = wilson_interval(int(right.sum()), len(right))
            values.append(f"{pct(right.mean())} [{pct(low)}, {pct(high)}]")
        rows.append([*variant, str(len(data.right(variant, data.seeds[0]))), *values])
    return table(["Method", "Trained on", "n", *(f"Seed {s}" for s in data.seeds)], rows)


def choices_table(data: Validation) -> str:
    """Each setting against its default: the difference per seed and what was chosen."""
    rows = []
    for choice in data.choices:
        tests = data.tests[choice]
        per_seed = ", ".join(
            f"{100 * t.difference:+.1f}{'*' if t.significant() else ''}" for t in tests
        )
        verdict = f"**{choice.setting}**" if data.chosen(choice) else "the default"
        rows.append([choice.method, choice.setting, per_seed, verdict])
    family = len(data.choices) * len(data.seeds)
    note = (
        f"\nSetting − default in points per seed (exact McNemar on the same validation clouds;"
        f" * Holm-adjusted p < 0.05 over these {family} tests). A setting replaces its default"
        " only where it is significantly better in every seed.\n"
    )
    return table(["Method", "Setting", "Setting − default, per seed", "Chosen"], rows) + note


@cache
def validation() -> Validation:
    return Validation()
