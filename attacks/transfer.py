"""Transfer: craft adversarial clouds on another method's victim, evaluate them on this one."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from bench.contracts.bounds import EPS, optional, require
from bench.contracts.errors import ConfigError, shown
from bench.contracts.plugins import ATTACKS, METHODS, Attack, AttackOutput, PluginInfo, ThreatModel
from bench.text.templates import names as template_sets

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim


@dataclass(frozen=True)
class TransferConfig:
    """The source method, and the attack (with an optional preset and eps) crafted on it;
    `templates` names the prompt-template set the source victim classifies with (empty: the
    source method's own), so clouds crafted under one prompt set are judged under another."""

    source: str = "openshape"
    attack: str = "pgd"
    preset: str = ""
    eps: float | None = None  # overrides the crafting attack's eps when set
    templates: str = ""

    def __post_init__(self) -> None:
        require(self, "transfer", {"eps": optional(EPS)})
        METHODS.get(self.source)  # an unknown name is one sentence with suggestions
        if self.templates and self.templates not in template_sets():
            raise ConfigError(
                f"transfer.templates must be a prompt-template set ({', '.join(template_sets())})"
                f" or empty, not {shown(self.templates)}."
            )
        crafting = ATTACKS.get(self.attack).cls
        if crafting.access not in ("gradient", "scores"):
            raise ConfigError(
                f"transfer.attack must be an attack that queries its victim, not {self.attack!r}."
            )
        if self.preset and self.preset not in crafting.presets:
            raise ConfigError(
                f"Attack {self.attack!r} has no preset {self.preset!r}; presets:"
                f" {sorted(crafting.presets) or 'none'}."
            )
        if self.eps is not None and "eps" not in {f.name for f in fields(crafting.Config)}:
            raise ConfigError(f"transfer.eps is set but attack {self.attack!r} has no eps.")


@ATTACKS.register("transfer")
class Transfer(Attack[TransferConfig]):
    """A black-box transfer attack: any gradient attack run on a surrogate method's victim.

    The cell builds the source method's victim (trained on the same corpus with the same seed,
    classifying the same class names) and hands it to this attack instead of the evaluated
    victim; the crafted clouds are then judged by the evaluated victim, defense included.
    When the source is the evaluated method itself the attack is simply white-box.

    With `templates`, the source victim classifies with another prompt-template set than the
    evaluated one (prompt transfer): with the source the evaluated method itself, the weights
    are the same and only the prompts differ, so the gap to the white-box attack measures how
    much an attacker gains from knowing the deployed prompts.

    A transfer attack that beats the white-box attack of the same budget on a method says that
    the white-box gradients of that method are masked (Carlini et al., On Evaluating Adversarial
    Robustness, 2019): the cross-cell indicators flag it. The source's trained weights are part
    of the cell's identity.

    The crafting attack's statistics (losses, the step of its first success) measure the
    source victim, not the evaluated one, so none is reported: version 2. Version 1 reported
    them, and the loss indicator then read "did not increase the loss" wherever the source was
    fooled at its first step, which says nothing about the evaluated victim. Version 3 added
    `templates`.
    """

    Config = TransferConfig
    version = 3
    access = "transfer"
    info = PluginInfo(
        display="Transfer",
        description="craft with any attack on a source method, evaluate on the target",
        cite="Papernot et al., Transferability in Machine Learning, arXiv:1605.07277, 2016",
    )

    def crafting_attack(self) -> Attack[Any]:
        """The attack run on the source victim."""
        cls = ATTACKS.get(self.config.attack).cls
        config = cls.presets[self.config.preset] if self.config.preset else cls.Config()
        if self.config.eps is not None:
            config = replace(config, eps=self.config.eps)
        return cls(config)

    def threat_model(self) -> ThreatModel:
        return self.crafting_attack().threat_model()

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        """`victim` is the source method's victim (the cell passes it)."""
        crafted = self.crafting_attack().run(victim, points, labels, generator)
        return AttackOutput(crafted.points, crafted.gradient_queries)
