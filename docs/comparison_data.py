"""The shipped comparison as data: its published cells and samples, and paired tests on them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from itertools import combinations
from pathlib import Path

import pandas as pd
from prose import Setting, setting_name

from bench.contracts.indicators import RANKING_ATTACK
from bench.evaluation.statistics import MARGIN, PairedComparison, holm_family
from leaderboard.compare import paired_on_shared_ids

DATA = Path(__file__).resolve().parent / "comparison-site" / "data"
FOCUS = "dual_denoise"  # the project's own method: the comparison tests its paper's claims
ATTACKS = (RANKING_ATTACK, "pgd")  # at every budget: the ranking attack, PGD-200 beside it


@dataclass(frozen=True)
class Verdict:
    """What the per-seed paired tests of A against B in one setting say together.

    A claim needs every seed's test to agree on it; otherwise the seeds are the finding. The
    tests are Holm-adjusted within the paired-tests table (every pair, setting and seed).
    Equivalence needs every seed's TOST to show it.
    """

    seeds: tuple[int, ...]
    tests: tuple[PairedComparison, ...]

    @property
    def kind(self) -> str:
        signs = {t.difference > 0 if t.significant() else None for t in self.tests}
        if signs == {True}:
            return "wins"
        if signs == {False}:
            return "loses"
        if signs != {None}:
            return "inconsistent across seeds"
        if all(t.equivalent() for t in self.tests):
            return f"equivalent (within ±{100 * MARGIN:g} points)"
        return "not significant"

    def per_seed(self) -> str:
        """A - B in points per seed, * where the Holm-adjusted p < 0.05 (the notation of
        `bench compare`), ≈ where not significant and TOST shows equivalence."""
        marks = ["*" if t.significant() else "≈" if t.equivalent() else "" for t in self.tests]
        return ", ".join(
            f"{100 * t.difference:+.1f}{m}" for t, m in zip(self.tests, marks, strict=True)
        )

    def significant_seeds(self, positive: bool) -> list[int]:
        return [
            seed
            for seed, t in zip(self.seeds, self.tests, strict=True)
            if t.significant() and (t.difference > 0) == positive
        ]


class Comparison:
    """The published comparison: its cells, per-sample outcomes, and paired tests on them."""

    def __init__(self, data: Path = DATA) -> None:
        self.cells = pd.read_parquet(data / "cells.parquet")
        self.cells["attack_name"] = self.cells["attack"].str.split("(").str[0]
        labels = self.cells[["cell_hash", "method", "seed", "budget", "attack_name"]]
        samples = pd.read_parquet(data / "samples.parquet").merge(labels, on="cell_hash")
        samples["clean"] = samples["clean_pred"] == samples["label"]
        samples["class_name"] = samples["id"].str.split("/").str[-2]
        self.samples = samples

    @cached_property
    def methods(self) -> list[str]:
        """The focus method first, then the others by mean clean accuracy, best first."""
        clean = self.cells[self.cells["budget"].isna()].groupby("method")["clean_acc"].mean()
        others = sorted(set(clean.index) - {FOCUS}, key=lambda m: (-clean[m], m))
        return ([FOCUS] if FOCUS in clean.index else []) + others

    @cached_property
    def seeds(self) -> list[int]:
        return sorted(int(s) for s in self.cells["seed"].unique())

    @cached_property
    def budgets(self) -> list[float]:
        return sorted(float(b) for b in self.cells["budget"].dropna().unique())

    @property
    def settings(self) -> list[Setting]:
        return [None, *self.budgets]

    @cached_property
    def chance(self) -> float:
        return 1 / self.samples["label"].nunique()

    def cell(
        self, method: str, seed: int, setting: Setting, attack: str = RANKING_ATTACK
    ) -> pd.Series:
        """The clean cell (setting None), or the cell of `attack` at that budget."""
        cells = self.cells[(self.cells["method"] == method) & (self.cells["seed"] == seed)]
        if setting is None:
            chosen = cells[cells["budget"].isna()]
        else:
            chosen = cells[(cells["budget"] == setting) & (cells["attack_name"] == attack)]
        if len(chosen) != 1:
            raise ValueError(
                f"{len(chosen)} cells for {method} seed {seed} {setting_name(setting)}"
            )
        return chosen.iloc[0]

    def rows(
        self, method: str, seed: int, setting: Setting, attack: str = RANKING_ATTACK
    ) -> pd.DataFrame:
        cell_hash = self.cell(method, seed, setting, attack).cell_hash
        return self.samples[self.samples["cell_hash"] == cell_hash].set_index("id", drop=False)

    def right(self, method: str, seed: int, setting: Setting) -> pd.Series:
        """Per sample: right clean, or (attacked) robust to every attack at the budget: the
        per-sample worst case over both attacks' cells, each already the worst over its runs."""
        if setting is None:
            return self.rows(method, seed, None)["clean"].astype(bool)
        runs = [self.rows(method, seed, setting, a)["robust"].astype(bool) for a in ATTACKS]
        if any(set(run.index) != set(runs[0].index) for run in runs):
            raise ValueError(f"the attacks on {method} seed {seed} evaluated different samples")
        return pd.concat(runs, axis=1).all(axis=1)

    def attack_accuracy(self, method: str, seed: int, budget: float, attack: str) -> float:
        """One attack's own cell at a budget: its robust accuracy alone."""
        return float(self.rows(method, seed, budget, attack)["robust"].mean())

    def accuracy(self, method: str, seed: int, setting: Setting) -> tuple[int, int]:
        right = self.right(method, seed, setting)
        return int(right.sum()), len(right)

    def rate(self, method: str, seed: int, setting: Setting) -> float:
        right, n = self.accuracy(method, seed, setting)
        return right / n

    def verdict(self, a: str, b: str, setting: Setting) -> Verdict:
        return self.verdicts[a, b, setting]

    @cached_property
    def family(self) -> int:
        """How many paired tests the paired-tests table shows: Holm's family."""
        return len(self.pairs()) * len(self.settings) * len(self.seeds)

    @cached_property
    def verdicts(self) -> dict[tuple[str, str, Setting], Verdict]:
        """Every pair in every setting, its per-seed tests Holm-adjusted as one family."""
        keys = [(a, b, s) for a, b in self.pairs() for s in self.settings]
        raw = [self._paired(a, b, s, seed) for a, b, s in keys for seed in self.seeds]
        adjusted = iter(holm_family(raw))
        seeds = tuple(self.seeds)
        return {key: Verdict(seeds, tuple(next(adjusted) for _ in seeds)) for key in keys}

    def _paired(self, a: str, b: str, setting: Setting, seed: int) -> PairedComparison:
        """A against B on the samples both evaluated (matched by id), in one seed."""
        right_a, right_b = self.right(a, seed, setting), self.right(b, seed, setting)
        test = paired_on_shared_ids(
            list(right_a.index), list(right_a), list(right_b.index), list(right_b)
        )
        if test is None:
            raise ValueError(f"{a} and {b} share no samples with seed {seed}")
        return test

    def pairs(self) -> list[tuple[str, str]]:
        return list(combinations(self.methods, 2))

    def converged(self, method: str, seed: int, budget: float, attack: str) -> bool:
        return "not converged" not in self.cell(method, seed, budget, attack).warnings

    @cached_property
    def ranking_tests(self) -> dict[tuple[str, int, float], PairedComparison]:
        """Per attacked victim: the ranking attack's cell against PGD-200's on the same clouds,
        Holm-adjusted over all of them (indicator s's family, `leaderboard.indicators`)."""
        keys = [(m, s, b) for m in self.methods for s in self.seeds for b in self.budgets]
        raw = []
        for method, seed, budget in keys:
            ranked, pgd = (self.rows(method, seed, budget, a) for a in ATTACKS)
            raw.append(
                paired_on_shared_ids(
                    list(ranked["id"]), list(ranked["robust"]), list(pgd["id"]), list(pgd["robust"])
                )
            )
        if any(test is None for test in raw):
            raise ValueError("a ranking cell and its PGD-200 cell share no samples")
        return dict(zip(keys, holm_family([t for t in raw if t is not None]), strict=True))

    def curve(self, method: str, seed: int, budget: float) -> list[float]:
        """Worst-case robust accuracy had PGD-200 stopped after k = 0..steps steps.

        A sample is fooled from the first step at which any of its runs (EOT or naive) fooled
        it, as in the cell's own `robust_acc_by_step`; only clean-correct samples were attacked.
        """
        attack = self.cell(method, seed, budget, "pgd").attack
        found = re.search(r"steps=(\d+)", attack)
        if found is None:
            raise ValueError(f"no step count in the attack label {attack!r}")
        steps, rows = int(found[1]), self.rows(method, seed, budget, "pgd")
        runs = [rows[c].where(rows[c] >= 0) for c in ("success_step", "success_step_naive")]
        first = pd.concat(runs, axis=1).min(axis=1).fillna(steps + 1)
        return [float((rows["clean"] & (first > k)).mean()) for k in range(steps + 1)]


@cache
def comparison() -> Comparison:
    return Comparison()
