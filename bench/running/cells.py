"""Cells: one resolved (method, training corpus, teacher, data, attack, defense, seed) each.

A cell is the unit of work and of caching. Its identity is everything that changes its numbers,
including the fingerprints of the data it trains and evaluates on and the hash of its teacher's
weights; its hash is the key of its record in the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bench.contracts.config import config_to_dict
from bench.contracts.errors import UsageError
from bench.contracts.hashing import canonical_json, sha256_of
from bench.contracts.plugins import ATTACKS, DATASETS, DEFENSES, METHODS, TEXT_ENCODERS
from bench.contracts.registry import Registry
from bench.contracts.releases import MINIATURE, PretrainingCorpus, Release
from bench.datasets.classes import RELATIVE, select_classes

if TYPE_CHECKING:
    from bench.datasets.cloudset import CloudSet

CELL_SCHEMA = 6  # bump when the evaluation itself changes (stored cells are then recomputed)
KINDS: dict[str, Registry[Any]] = {
    "method": METHODS,
    "dataset": DATASETS,
    "attack": ATTACKS,
    "defense": DEFENSES,
    "text_encoder": TEXT_ENCODERS,
}
# What distillation aligns clouds to: class prompts only, plus each cloud's caption, or plus its
# caption after the class name ("a chair, a tall shape made of ...", as ULIP-2 names objects).
TEXT_SOURCES = ("prompts", "captions", "named_captions")
DEFAULT_CLASSES = "unseen"  # evaluate zero-shot: on the names the training corpus did not have
DEFAULT_CORPUS = {
    "name": "procedural40",
    "split": "train",
    "classes": "modelnet40_minus_10",
    "text": "prompts",
}


@dataclass(frozen=True)
class Choice:
    """One plugin with its resolved config."""

    kind: str
    name: str
    config: Any

    @property
    def version(self) -> int:
        return KINDS[self.kind].get(self.name).cls.version

    def identity(self) -> dict[str, Any]:
        """Name, version and config, less the fields that only say where it runs (devices)."""
        runtime = KINDS[self.kind].get(self.name).cls.runtime_fields
        config = {k: v for k, v in config_to_dict(self.config).items() if k not in runtime}
        return {"name": self.name, "version": self.version, "config": config}

    def instantiate(self) -> Any:
        return KINDS[self.kind].get(self.name).cls(self.config)

    def label(self, base: Any = None) -> str:
        """Name plus the parameters that differ from the plugin's defaults (or from `base`),
        less the fields that say where it runs or where its files are."""
        defaults = config_to_dict(base if base is not None else type(self.config)())
        runtime = KINDS[self.kind].get(self.name).cls.runtime_fields  # where, not what
        changed = {
            k: v
            for k, v in config_to_dict(self.config).items()
            if defaults[k] != v and k not in runtime
        }
        inner = ", ".join(f"{k}={v}" for k, v in changed.items())
        return f"{self.name}({inner})" if inner else self.name


@dataclass(frozen=True)
class Corpus:
    """What a method's weights are trained on: a dataset split, a class subset, a text source.

    `text` "prompts" (the default) distils toward the class prompts only; "captions" also
    toward each cloud's caption when the dataset has captions, "named_captions" toward the
    caption after the class name. On procedural40 captions lowered unseen-class accuracy
    (README), so they are opt-in.
    """

    dataset: Choice
    split: str = "train"
    classes: str = "all"
    text: str = "prompts"

    def load(self) -> CloudSet:
        return select_classes(self.dataset.instantiate().load(self.split), self.classes)

    def seen(self, evaluated: tuple[str, ...]) -> list[str]:
        """The evaluated class names this corpus has."""
        return sorted(set(self.load().class_names) & set(evaluated))

    def identity(self) -> dict[str, Any]:
        """The corpus with the fingerprint of its exact clouds and labels."""
        spec = {"dataset": self.dataset.identity(), "split": self.split, "classes": self.classes}
        data = {"fingerprint": _fingerprint(canonical_json(spec), self)}
        return {**spec, **data, "text": self.text}

    def label(self) -> str:
        text = "" if self.text == DEFAULT_CORPUS["text"] else f" ({self.text})"
        return f"{self.dataset.label()}/{self.split}{_subset_suffix(self.classes)}{text}"


@dataclass(frozen=True)
class Cell:
    """One (method, training, teacher, data, attack, defense, seed): the unit of work and cache.

    Its hash covers everything that changes its numbers: the trained-weights key (recipe,
    corpus fingerprint, teacher weights, seed), the evaluation data's fingerprint, the attack
    and defense configs and the seed, which seeds training as well as the attack. Where a cell
    runs (devices, batch size) is not part of it.
    """

    method: Choice
    teacher: Choice  # the method's text encoder, with its config (weights file, architecture)
    dataset: Choice
    attack: Choice
    defense: Choice
    seed: int = 0
    split: str = "test"
    classes: str = DEFAULT_CLASSES  # the evaluated class subset, classified among its names only
    corpus: Corpus | PretrainingCorpus = field(default_factory=lambda: _default_corpus())
    weights: str = MINIATURE  # or the name of one of the method's releases
    # Where the release's file is, when given (else found by `bench.training.published`), and
    # whether it may need pickle code: neither changes the numbers, so neither is in the hash.
    checkpoint: str = ""
    trust_pickle: bool = False
    # Processes a miniature is trained in (torchrun): they change its weights in the last bits.
    training_processes: int = 1

    @property
    def release(self) -> Release | None:
        """The published checkpoint the cell runs, None for a miniature."""
        if self.weights == MINIATURE:
            return None
        return METHODS.get(self.method.name).cls.releases[self.weights]

    @cached_property
    def weights_sha256(self) -> str:
        """The release file's sha256 (hashing is cached by file stamp)."""
        from bench.storage.file_hashes import cached_sha256
        from bench.training.published import checkpoint_file

        return cached_sha256(checkpoint_file(self))

    @cached_property
    def teacher_identity(self) -> str:
        """The text encoder's name and weights hash (hashing is cached by file stamp)."""
        return self.teacher.instantiate().identity()

    def training_identity(self) -> dict[str, Any]:
        """What the trained weights depend on; its hash is the weights cache key."""
        if self.release is not None:
            return {
                "release": self.weights,
                "sha256": self.weights_sha256,
                "corpus": self.corpus.identity(),
            }
        method = self.method.identity()
        inference_only = METHODS.get(self.method.name).cls.inference_only
        recipe = {
            **method,
            "config": {k: v for k, v in method["config"].items() if k not in inference_only},
        }
        processes = {"processes": self.training_processes} if self.training_processes > 1 else {}
        return {
            "method": recipe,
            "corpus": self.corpus.identity(),
            "teacher": self.teacher_identity,
            "templates": self.method.config.templates,
            "seed": self.seed,
            **processes,
        }

    def transfer_source(self) -> Cell | None:
        """For a transfer attack, the cell of its source method: the victim it crafts on.

        The source is trained exactly as this cell's method is (corpus, seed), with its default
        recipe, or this cell's recipe when it is this cell's method (then the attack is simply
        white-box), and its text encoder, configured as this cell's teacher when they share a
        name.
        """
        if ATTACKS.get(self.attack.name).cls.access != "transfer":
            return None
        source = self.attack.config.source
        if source == self.method.name:
            return replace(self, attack=self.attack)
        config = METHODS.get(source).cls.Config()
        encoder = config.text_encoder
        teacher = self.teacher
        if teacher.name != encoder:
            teacher = Choice("text_encoder", encoder, TEXT_ENCODERS.get(encoder).cls.Config())
        return replace(self, method=Choice("method", source, config), teacher=teacher)

    def evaluation_data(self) -> CloudSet:
        data = self.dataset.instantiate().load(self.split)
        if self.classes not in RELATIVE:
            return select_classes(data, self.classes)
        seen = self.corpus.seen(data.class_names)
        if seen is None:
            raise UsageError(
                f"{self.method.name}'s weights were pre-trained on {self.corpus.label()},"
                " whose captions may name any class: no class is verifiably unseen, so"
                f" --classes {self.classes} has no meaning; evaluate --classes all (labelled"
                " open vocabulary)."
            )
        return select_classes(data, self.classes, set(seen))

    def identity(self) -> dict[str, Any]:
        data = {"dataset": self.dataset.identity(), "split": self.split, "classes": self.classes}
        source = self.transfer_source()
        # `unseen` and `seen` depend on the corpus: its identity keys their fingerprint too.
        relative = {"corpus": self.corpus.identity()} if self.classes in RELATIVE else {}
        return {
            "schema": CELL_SCHEMA,
            "method": self.method.identity(),
            "teacher": {**self.teacher.identity(), "identity": self.teacher_identity},
            "weights": self.weights if self.release is None else self.training_identity(),
            "training": self.training_identity(),
            **data,
            "data_fingerprint": _fingerprint(canonical_json({**data, **relative}), self),
            "attack": self.attack.identity(),
            **({"transfer_source": source.training_identity()} if source else {}),
            "defense": self.defense.identity(),
            "seed": self.seed,
        }

    @cached_property
    def hash(self) -> str:
        return sha256_of(self.identity())

    def labels(self) -> dict[str, str]:
        release = self.release
        method = self.method.label() if release is None else self.method.label(release.config)
        if release is not None:  # "uni3d(...)" reads "uni3d-b(...)": the release names it
            method = release.name + method[len(self.method.name) :]
        return {
            "method": method,
            "teacher": self.teacher.label(),
            "corpus": self.corpus.label(),
            "dataset": self.dataset.label() + _subset_suffix(self.classes),
            "attack": self.attack.label(),
            "defense": self.defense.label(),
        }

    def label(self) -> str:
        labels = self.labels()
        parts = [labels["method"], labels["dataset"], labels["attack"]]
        if self.defense.name != "none":
            parts.append(labels["defense"])
        return " × ".join(parts) + f" (seed {self.seed})"


def _subset_suffix(classes: str) -> str:
    return "" if classes == "all" else f"[{classes}]"


_FINGERPRINTS: dict[str, str] = {}


def _fingerprint(key: str, source: Corpus | Cell) -> str:
    """A data fingerprint, computed once per process for each resolved data spec."""
    if key not in _FINGERPRINTS:
        data = source.load() if isinstance(source, Corpus) else source.evaluation_data()
        _FINGERPRINTS[key] = data.fingerprint
    return _FINGERPRINTS[key]


def _default_corpus() -> Corpus:
    name = DEFAULT_CORPUS["name"]
    dataset = Choice("dataset", name, DATASETS.get(name).cls.Config())
    return Corpus(
        dataset, DEFAULT_CORPUS["split"], DEFAULT_CORPUS["classes"], DEFAULT_CORPUS["text"]
    )
