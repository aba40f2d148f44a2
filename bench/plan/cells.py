"""Cells: one resolved (weights, data, attack, defense, seed) each, a pure value.

A cell is the unit of work and of caching. Its identity is everything that changes its numbers,
including the fingerprints of the data it trains and evaluates on and the hash of its teacher's
weights, all set when its spec was resolved (`bench.plan.resolve`); its hash is the key of its
record in the store. Where a cell runs (devices, batch size, data folders) is not part of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bench.contracts.cloudset import CloudSet
from bench.contracts.errors import UsageError
from bench.contracts.hashing import sha256_of
from bench.contracts.releases import PretrainingCorpus, Release
from bench.data.classes import RELATIVE, select_classes
from bench.plan.auxiliary import AuxiliaryTraining
from bench.plan.choice import Choice
from bench.plan.corpus import Corpus, subset_suffix
from bench.plan.training import Training

CELL_SCHEMA = 6  # bump when the evaluation itself changes (stored cells are then recomputed)
DEFAULT_CLASSES = "unseen"  # evaluate zero-shot: on the names the training corpus did not have
# The identity fields that belong to the attack: cells of one victim differ only in these.
ATTACK_FIELDS = ("attack", "transfer_source", "attack_auxiliary")


@dataclass(frozen=True)
class Cell:
    """One (weights, data, attack, defense, seed): the unit of work and cache.

    Its hash covers the weights' training identity (recipe, corpus fingerprint, teacher
    weights, seed), the evaluation data's fingerprint, the attack and defense configs and the
    seed, which seeds training as well as the attack. `transfer` is the training of a transfer
    attack's source method: the victim it crafts on. `attack_auxiliary` and
    `defense_auxiliary` are the trainings of the networks the attack or defense needs (an
    autoencoder, an upsampler), part of its identity when there is one.
    """

    training: Training
    dataset: Choice
    attack: Choice
    defense: Choice
    data_fingerprint: str
    split: str = "test"
    classes: str = DEFAULT_CLASSES  # the evaluated class subset, classified among its names only
    transfer: Training | None = None
    attack_auxiliary: AuxiliaryTraining | None = None
    defense_auxiliary: AuxiliaryTraining | None = None

    @property
    def method(self) -> Choice:
        return self.training.method

    @property
    def teacher(self) -> Choice:
        return self.training.teacher

    @property
    def corpus(self) -> Corpus | PretrainingCorpus:
        return self.training.corpus

    @property
    def seed(self) -> int:
        return self.training.seed

    @property
    def release(self) -> Release | None:
        """The published checkpoint the cell runs, None for a miniature."""
        return self.training.release

    @property
    def weights(self) -> str:
        return self.training.weights

    def evaluation_data(self) -> CloudSet:
        return evaluation_data(self.dataset, self.split, self.classes, self.corpus)

    def identity(self) -> dict[str, Any]:
        training = self.training.identity()
        return {
            "schema": CELL_SCHEMA,
            "method": self.method.identity(),
            "teacher": {**self.teacher.identity(), "identity": self.training.teacher_identity},
            "weights": self.weights if self.release is None else training,
            "training": training,
            "dataset": self.dataset.identity(),
            "split": self.split,
            "classes": self.classes,
            "data_fingerprint": self.data_fingerprint,
            "attack": self.attack.identity(),
            **({"transfer_source": self.transfer.identity()} if self.transfer else {}),
            "defense": self.defense.identity(),
            **self._auxiliary_identities(),
            "seed": self.seed,
        }

    def _auxiliary_identities(self) -> dict[str, Any]:
        """The auxiliary networks' trainings, keyed by their user; none: nothing (old hashes)."""
        pairs = {
            "attack_auxiliary": self.attack_auxiliary,
            "defense_auxiliary": self.defense_auxiliary,
        }
        return {key: value.identity() for key, value in pairs.items() if value is not None}

    @cached_property
    def hash(self) -> str:
        return sha256_of(self.identity())

    def labels(self) -> dict[str, str]:
        return {
            "method": self.training.method_label(),
            "teacher": self.teacher.label(),
            "corpus": self.corpus.label(),
            "dataset": self.dataset.label() + subset_suffix(self.classes),
            "attack": self.attack.label(),
            "defense": self.defense.label(),
        }

    def label(self) -> str:
        labels = self.labels()
        parts = [labels["method"], labels["dataset"], labels["attack"]]
        if self.defense.name != "none":
            parts.append(labels["defense"])
        return " × ".join(parts) + f" (seed {self.seed})"


def evaluation_data(
    dataset: Choice, split: str, classes: str, corpus: Corpus | PretrainingCorpus
) -> CloudSet:
    """The evaluated clouds: the split's, of the class subset (`unseen` and `seen` relative to
    the corpus), labelled among the subset's names only."""
    data = dataset.instantiate().load(split)
    if classes not in RELATIVE:
        return select_classes(data, classes)
    seen = corpus.seen(data.class_names)
    if seen is None:
        raise UsageError(
            f"The weights were pre-trained on {corpus.label()}, whose captions may name any"
            f" class: no class is verifiably unseen, so --classes {classes} has no meaning;"
            " evaluate --classes all (labelled open vocabulary)."
        )
    return select_classes(data, classes, set(seen))
