"""The clean evaluation, as an attack, so clean accuracy is measured by the same runner path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, NoConfig, PluginInfo, ThreatModel

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim


@ATTACKS.register("none")
class NoAttack(Attack[NoConfig]):
    """Returns a copy of the clean clouds; its threat model allows no change at all."""

    Config = NoConfig
    version = 1
    access = "none"
    info = PluginInfo(display="Clean", description="No attack: the unmodified clouds.")

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm="none")

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        return AttackOutput(points=points.detach().clone())
