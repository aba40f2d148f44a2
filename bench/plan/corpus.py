"""A training corpus: the dataset split, class subset and text a miniature is distilled on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.contracts.cloudset import CloudSet
from bench.contracts.concepts import seen_names
from bench.data.classes import select_classes
from bench.plan.choice import Choice

# What distillation aligns clouds to: class prompts only, plus each cloud's caption, or plus its
# caption after the class name ("a chair, a tall shape made of ...", as ULIP-2 names objects).
TEXT_SOURCES = ("prompts", "captions", "named_captions")
DEFAULT_CORPUS = {
    "name": "procedural40",
    "split": "train",
    "classes": "modelnet40_minus_10",
    "text": "prompts",
}


@dataclass(frozen=True)
class Corpus:
    """What a method's weights are trained on: a dataset split, a class subset, a text source.

    `text` "prompts" (the default) distils toward the class prompts only; "captions" also
    toward each cloud's caption when the dataset has captions, "named_captions" toward the
    caption after the class name. On procedural40's validation classes captions beat prompts
    in no seed for any method (docs/results.md), so they are opt-in. `fingerprint` is that of
    its exact clouds and labels, set when the plan is resolved (`bench.plan.resolve`), with
    its `class_names`, so that planning and evaluating a cell load the corpus once, not again
    for the names.
    """

    dataset: Choice
    split: str = "train"
    classes: str = "all"
    text: str = "prompts"
    fingerprint: str = ""
    class_names: tuple[str, ...] = ()

    def load(self) -> CloudSet:
        return select_classes(self.dataset.instantiate().load(self.split), self.classes)

    def seen(self, evaluated: tuple[str, ...]) -> list[str]:
        """The evaluated class names this corpus has: their concept or a hypernym of it."""
        return seen_names(evaluated, self.class_names or self.load().class_names)

    def identity(self) -> dict[str, Any]:
        """The corpus with the fingerprint of its exact clouds and labels."""
        if not self.fingerprint:
            raise ValueError("The corpus is not resolved: its data has no fingerprint yet.")
        return {
            "dataset": self.dataset.identity(),
            "split": self.split,
            "classes": self.classes,
            "fingerprint": self.fingerprint,
            "text": self.text,
        }

    def label(self) -> str:
        text = "" if self.text == DEFAULT_CORPUS["text"] else f" ({self.text})"
        return f"{self.dataset.label()}/{self.split}{subset_suffix(self.classes)}{text}"


def subset_suffix(classes: str) -> str:
    return "" if classes == "all" else f"[{classes}]"
