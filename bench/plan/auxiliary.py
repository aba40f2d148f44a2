"""What an auxiliary network's weights are: its recipe, the corpus and the seed it is trained
with. `bench.training.auxiliary` trains or loads it; its hash keys the cache."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bench.contracts.auxiliary import AuxiliaryModel
from bench.contracts.hashing import sha256_of
from bench.plan.corpus import Corpus


@dataclass(frozen=True)
class AuxiliaryTraining:
    """One auxiliary network's training: recipe, corpus (resolved, with its fingerprint), seed.

    The corpus is the victim's training corpus for a miniature (its text source aside: the
    network sees clouds only), and the evaluated dataset's training split for released weights,
    as AdvPC and DUP-Net train theirs on ModelNet40's.
    """

    recipe: AuxiliaryModel
    corpus: Corpus
    seed: int

    def identity(self) -> dict[str, Any]:
        corpus = self.corpus.identity()
        del corpus["text"]
        return {"recipe": self.recipe.identity(), "corpus": corpus, "seed": self.seed}

    @cached_property
    def key(self) -> str:
        return sha256_of(self.identity())

    def label(self) -> str:
        return f"{self.recipe.label()} on {self.corpus.label()} (seed {self.seed})"
