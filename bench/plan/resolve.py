"""Resolving a plan: every data choice loaded or fingerprinted once, every file hashed once.

A `Resolver` lives for one plan. It keys what it computes by a choice's whole config, where its
files are included, so two folders holding different files are two fingerprints, and a copy of
the same files in another folder is the same fingerprint: the data is the identity, the folder
is not. Nothing outlives the plan, so no earlier plan can change a later one's hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from bench.contracts.errors import WeightsError
from bench.contracts.hashing import canonical_json
from bench.contracts.plugins import ATTACKS, METHODS, TEXT_ENCODERS, victim_names
from bench.contracts.releases import PretrainingCorpus, Release
from bench.data.classes import RELATIVE
from bench.plan.auxiliary import AuxiliaryTraining
from bench.plan.cells import Cell, evaluation_data
from bench.plan.choice import Choice
from bench.plan.corpus import Corpus
from bench.plan.training import Training

T = TypeVar("T")


class Resolver:
    """Computes the facts a cell's identity needs, once per plan."""

    def __init__(self) -> None:
        self._known: dict[str, Any] = {}

    def _once(self, key: Any, compute: Callable[[], T]) -> T:
        text = canonical_json(key)
        if text not in self._known:
            self._known[text] = compute()
        return self._known[text]

    def corpus(self, corpus: Corpus) -> Corpus:
        """The corpus with the fingerprint of its clouds and labels, and its class names."""
        key = {"corpus": corpus.dataset.whole(), "split": corpus.split, "classes": corpus.classes}
        fingerprint, names = self._once(key, lambda: _fingerprint_and_names(corpus))
        return replace(corpus, fingerprint=fingerprint, class_names=names)

    def teacher_identity(self, teacher: Choice) -> str:
        return self._once({"teacher": teacher.whole()}, lambda: teacher.instantiate().identity())

    def release_sha256(self, release: Release, checkpoint: str) -> str:
        key = {"release": release.name, "checkpoint": checkpoint}
        return self._once(key, lambda: _published_file_sha256(release, checkpoint))

    def training(
        self,
        method: Choice,
        teacher: Choice,
        corpus: Corpus | PretrainingCorpus,
        seed: int,
        release: Release | None = None,
        checkpoint: str = "",
        trust_pickle: bool = False,
        processes: int = 1,
    ) -> Training:
        """The weights these choices make, with their teacher's and file's hashes."""
        if isinstance(corpus, Corpus):
            corpus = self.corpus(corpus)
        digest = "" if release is None else self.release_sha256(release, checkpoint)
        return Training(
            method,
            teacher,
            corpus,
            self.teacher_identity(teacher),
            seed,
            release,
            checkpoint,
            trust_pickle,
            digest,
            processes,
        )

    def cell(
        self,
        training: Training,
        dataset: Choice,
        attack: Choice,
        defense: Choice,
        classes: str,
        split: str = "test",
    ) -> Cell:
        """The cell with its evaluation data's fingerprint and its transfer source."""
        key = {"dataset": dataset.whole(), "split": split, "classes": classes}
        if classes in RELATIVE:  # relative to the corpus: its identity keys them too
            key["corpus"] = training.corpus.identity()
        fingerprint, names = self._once(
            key, lambda: _fingerprint_and_names_of(dataset, split, classes, training.corpus)
        )
        victim_names(names, attack.instantiate())  # an extra class must be a new name
        return Cell(
            training,
            dataset,
            attack,
            defense,
            fingerprint,
            split,
            classes,
            self.transfer_source(training, attack),
            self.auxiliary(attack, training, dataset),
            self.auxiliary(defense, training, dataset),
        )

    def auxiliary(
        self, plugin: Choice, training: Training, dataset: Choice
    ) -> AuxiliaryTraining | None:
        """The training of the network the attack or defense needs, if it needs one: on the
        victim's corpus for a miniature, on the evaluated dataset's training split for released
        weights (which were not trained here), with the cell's seed."""
        recipe = plugin.instantiate().auxiliary_model()
        if recipe is None:
            return None
        corpus = training.corpus
        if not isinstance(corpus, Corpus):
            corpus = self.corpus(Corpus(dataset, "train", "all"))
        return AuxiliaryTraining(recipe, corpus, training.seed)

    def transfer_source(self, training: Training, attack: Choice) -> Training | None:
        """For a transfer attack, the training of its source method: the victim it crafts on.

        The source is trained exactly as the cell's method is (corpus, seed), with its default
        recipe, or the cell's own weights when it is the cell's method (then the attack is
        simply white-box), and its text encoder, configured as the cell's teacher when they
        share a name.
        """
        if ATTACKS.get(attack.name).cls.access != "transfer":
            return None
        source = attack.config.source
        if source == training.method.name:
            return training
        config = METHODS.get(source).cls.Config()
        encoder = config.text_encoder
        teacher = training.teacher
        if teacher.name != encoder:
            teacher = Choice("text_encoder", encoder, TEXT_ENCODERS.get(encoder).cls.Config())
        return self.training(
            Choice("method", source, config),
            teacher,
            training.corpus,
            training.seed,
            processes=training.processes,
        )


def _fingerprint_and_names_of(
    dataset: Choice, split: str, classes: str, corpus: Corpus | PretrainingCorpus
) -> tuple[str, tuple[str, ...]]:
    """The evaluated clouds' fingerprint and class names."""
    data = evaluation_data(dataset, split, classes, corpus)
    return data.fingerprint, tuple(data.class_names)


def _fingerprint_and_names(corpus: Corpus) -> tuple[str, tuple[str, ...]]:
    data = corpus.load()
    return data.fingerprint, tuple(data.class_names)


def _published_file_sha256(release: Release, checkpoint: str) -> str:
    """The sha256 of the release's file here; a WeightsError if its entry publishes another."""
    from bench.storage.file_hashes import cached_sha256
    from bench.storage.release_files import release_file

    path = release_file(release, checkpoint)
    found = cached_sha256(path)
    if release.sha256 is not None and found != release.sha256:
        raise WeightsError(
            f"The {release.name} file {path} has sha256 {found[:16]}…, not the"
            f" {release.sha256[:16]}… its entry publishes: it is another file (a partial"
            " download, another version)."
        )
    return found
