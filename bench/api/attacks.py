"""`bench.attacks`: every registered attack, callable on a user's own victim and tensors.

`get(name, **config)` validates the config as a spec entry does (`bench.plan.spec.resolve`),
and the call runs the attack through the cell's own batch step (`bench.evaluation.split`):
the threat-model budget and the unchanged-input checks, and per-sample random streams keyed
by `seed` and the samples' ids. With a dataset's ids and a cell's seed, each cloud gets the
draws it gets in that cell, so its verdict is the cell's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from bench.adversarial.eot import VOTES
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, ThreatModel
from bench.contracts.randomness import SampleStreams
from bench.evaluation.split import run_checked
from bench.evaluation.victim import ZeroShotVictim
from bench.plan.choice import Choice
from bench.plan.spec import resolve

__all__ = ["AttackOutput", "ReadyAttack", "get", "names"]


def names() -> list[str]:
    """The names of every registered attack, built-in and third-party."""
    return ATTACKS.names()


def get(name: str, preset: str | None = None, **config: Any) -> ReadyAttack:
    """The attack `name` with `config` over its defaults (or over a named `preset`), checked as
    a spec or `--set` is: an unknown parameter or a value out of bounds is one sentence."""
    entry: dict[str, Any] = {"name": name, "params": config}
    if preset is not None:
        entry["preset"] = preset
    (choice,) = resolve("attack", entry, f"bench.attacks.get({name!r})")
    return ReadyAttack(choice)


@dataclass(frozen=True)
class ReadyAttack:
    """A configured attack: call it as `attack(victim, points, labels, seed=0, ids=None)`.

    An attack that needs a trained network of its own (AdvPC's autoencoder) gets it with
    `with_auxiliary(module)`; `Method.ready(attack, dataset)` trains it as a cell does.
    """

    choice: Choice
    auxiliary: torch.nn.Module | None = None

    def with_auxiliary(self, module: torch.nn.Module) -> ReadyAttack:
        """This attack with `module` as its trained auxiliary network."""
        return replace(self, auxiliary=module)

    @property
    def name(self) -> str:
        return self.choice.name

    @property
    def plugin(self) -> Attack[Any]:
        """A fresh instance of the attack plugin with this config."""
        instance: Attack[Any] = self.choice.instantiate()
        if self.auxiliary is not None:
            instance.bind_auxiliary(self.auxiliary)
        return instance

    @property
    def threat_model(self) -> ThreatModel:
        """What the attack may change; every output is checked against it."""
        return self.plugin.threat_model()

    def __call__(
        self,
        victim: ZeroShotVictim,
        points: torch.Tensor,
        labels: torch.Tensor,
        seed: int = 0,
        ids: Sequence[str] | None = None,
    ) -> AttackOutput:
        """Adversarial clouds for `points` [B, N, C] with true `labels` [B], checked against the
        threat model; `points` is never changed. Sample `ids` key the random streams (default:
        the positions 0..B-1). A transfer attack crafts on `victim`: pass its source model.

        As in a cell, the victim's own noise streams first cast the clean vote, so a stochastic
        victim draws for each sample what it draws in the cell.
        """
        keys = tuple(ids) if ids is not None else tuple(str(i) for i in range(len(points)))
        if len(keys) != len(points):
            raise ValueError(f"{len(keys)} ids were given for {len(points)} clouds.")
        attack = self.plugin
        victim.bind(SampleStreams.for_samples(seed, keys, "victim"))
        try:
            victim.vote(points.detach(), VOTES if victim.stochastic else 1)
            streams = SampleStreams.for_samples(seed, keys, "attack")
            clean = points.detach().clone()
            return run_checked(
                attack, victim, points, clean, labels, streams, attack.threat_model()
            )
        finally:
            victim.bind(None)
