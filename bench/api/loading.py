"""`bench.load_dataset` and `bench.load_method`: registered plugins as objects in a session.

Both resolve through the spec path (`bench.plan.spec`), as `bench run` flags do, so a config is
validated in the same sentences and a method's weights are the very ones a cell with the same
settings trains or loads (one cache, one identity), as RobustBench's `load_model` returns the
model its leaderboard evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from bench.api.attacks import ReadyAttack
from bench.contracts.cloudset import CloudSet
from bench.contracts.errors import UsageError
from bench.contracts.releases import MINIATURE
from bench.data.classes import RELATIVE, select_classes
from bench.evaluation.cell import method_victim
from bench.evaluation.victim import ZeroShotVictim
from bench.plan.cells import evaluation_data
from bench.plan.choice import Choice
from bench.plan.command_line import single_cell_spec
from bench.plan.resolve import Resolver
from bench.plan.spec import expand_trainings, resolve
from bench.plan.training import Training
from bench.training.auxiliary import obtain_auxiliary


@dataclass(frozen=True)
class Dataset:
    """One split of a registered dataset, in memory: clouds, labels, class names and ids."""

    choice: Choice
    split: str
    classes: str
    data: CloudSet = field(repr=False)

    @property
    def name(self) -> str:
        return self.choice.name

    @property
    def points(self) -> torch.Tensor:
        """The clouds [M, N, C] (float32)."""
        return torch.from_numpy(self.data.points)

    @property
    def labels(self) -> torch.Tensor:
        """The labels [M], indices into `class_names`."""
        return torch.from_numpy(self.data.labels)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.data.class_names

    @property
    def ids(self) -> tuple[str, ...]:
        """Stable sample ids: they key each sample's random streams and stored outcomes."""
        return self.data.ids

    @property
    def fingerprint(self) -> str:
        return self.data.fingerprint

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Method:
    """A registered method with its weights (a miniature trained here, or a release)."""

    spec: Mapping[str, Any]  # the one-cell spec of the method (weights, teacher, corpus, seed)
    seed: int
    training: Training

    @property
    def name(self) -> str:
        return self.training.method.name

    def victim(
        self, class_names: tuple[str, ...], device: str = "cpu", templates: str = ""
    ) -> ZeroShotVictim:
        """The method as a zero-shot classifier over `class_names`, as a cell builds it (the
        miniature is trained first if no cached copy exists); `templates` replaces its
        prompt-template set."""
        names = tuple(class_names)
        victim, _, _ = method_victim(self.training, names, torch.device(device), None, templates)
        return victim

    def ready(self, attack: ReadyAttack, dataset: Dataset, device: str = "cpu") -> ReadyAttack:
        """`attack` with the network it needs (AdvPC's autoencoder) bound, trained or loaded
        from the home's cache as this method's cell on `dataset` trains it: on the method's
        corpus (a release's: the dataset's training split), with its seed. Others: as given."""
        training = Resolver().auxiliary(attack.choice, self.training, dataset.choice)
        if training is None:
            return attack
        return attack.with_auxiliary(obtain_auxiliary(training, torch.device(device)).module)


def load_dataset(
    name: str,
    split: str = "test",
    classes: str = "all",
    trained_on: Method | Sequence[str] | None = None,
    **config: Any,
) -> Dataset:
    """The `split` of dataset `name` with `config` over its defaults, restricted to a class
    subset: `all`, a held-out subset such as `modelnet10`, or `unseen` / `seen` relative to
    `trained_on` (a method, whose training corpus is meant, or the class names an encoder
    was trained on), as `--classes` is relative to a cell's corpus."""
    (choice,) = resolve("dataset", {"name": name, "params": config}, f"dataset '{name}'")
    if classes in RELATIVE and trained_on is None:
        raise UsageError(
            f"The class subset '{classes}' is relative to a training corpus: give trained_on=,"
            " a method (bench.load_method) or the class names the encoder was trained on."
        )
    if isinstance(trained_on, Method):
        data = evaluation_data(choice, split, classes, trained_on.training.corpus)
    else:
        names = None if trained_on is None else set(trained_on)
        data = select_classes(choice.instantiate().load(split), classes, names)
    return Dataset(choice, split, classes, data)


def load_method(
    name: str,
    weights: str = MINIATURE,
    seed: int = 0,
    checkpoint: str = "",
    trust_pickle: bool = False,
    corpus: Mapping[str, Any] | None = None,
    **config: Any,
) -> Method:
    """Method `name` with `config` over its defaults: its miniature for `seed`, trained on
    `corpus` (a spec's corpus entry over the default, e.g. `{"params": {"points": 256}}`), or
    a release (`weights="official"` or a release name) read from `checkpoint`."""
    spec = single_cell_spec(
        name,
        "none",
        "procedural40",
        "none",
        seed,
        None,
        [],
        None,
        weights,
        checkpoint,
        trust_pickle,
    )
    spec["methods"][0]["params"].update(config)
    spec["corpus"].update(corpus or {})
    (training,) = expand_trainings(spec, where=f"load_method({name!r})")
    return Method(spec, seed, training)
