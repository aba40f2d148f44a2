"""What a method's weights are: a miniature trained here, or a release's file, with everything
they depend on. `bench.training` takes one and trains or loads it; its hash keys the cache."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bench.contracts.hashing import sha256_of
from bench.contracts.releases import MINIATURE, PretrainingCorpus, Release
from bench.plan.choice import Choice
from bench.plan.corpus import Corpus


@dataclass(frozen=True)
class Training:
    """The weights of one method: recipe, corpus, teacher and seed, or a release's file.

    `teacher_identity` (the text encoder's name and weights hash) and `weights_sha256` (the
    release file's, empty for a miniature) are set when the plan is resolved. Where the release
    file is and whether it may need pickle code change no number, so neither is in the hash.
    """

    method: Choice
    teacher: Choice  # the method's text encoder, with its config (weights file, architecture)
    corpus: Corpus | PretrainingCorpus
    teacher_identity: str
    seed: int = 0
    release: Release | None = None
    checkpoint: str = ""
    trust_pickle: bool = False
    weights_sha256: str = ""
    # Processes a miniature is trained in (torchrun): they change its weights in the last bits.
    processes: int = 1

    @property
    def weights(self) -> str:
        """ "miniature", or the name of the release."""
        return MINIATURE if self.release is None else self.release.name

    @property
    def trained_on(self) -> Corpus:
        """The corpus a miniature is trained on; released weights are not trained here."""
        if not isinstance(self.corpus, Corpus):
            raise ValueError(f"{self.weights} is a release: the harness does not train it.")
        return self.corpus

    def identity(self) -> dict[str, Any]:
        """What the weights depend on; its hash is the weights cache key."""
        if self.release is not None:
            return {
                "release": self.release.name,
                "sha256": self.weights_sha256,
                "corpus": self.corpus.identity(),
            }
        method = self.method.identity()
        inference_only = self.method.plugin.inference_only
        recipe = {
            **method,
            "config": {k: v for k, v in method["config"].items() if k not in inference_only},
        }
        processes = {"processes": self.processes} if self.processes > 1 else {}
        return {
            "method": recipe,
            "corpus": self.corpus.identity(),
            "teacher": self.teacher_identity,
            "templates": self.method.config.templates,
            "seed": self.seed,
            **processes,
        }

    @cached_property
    def key(self) -> str:
        return sha256_of(self.identity())

    def method_label(self) -> str:
        """The method with its non-default parameters; a release names it ("uni3d-b(...)")."""
        if self.release is None:
            return self.method.label()
        return self.release.name + self.method.label(self.release.config)[len(self.method.name) :]
