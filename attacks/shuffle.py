"""Shuffle: the clean clouds with their points in a random order, none moved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, NoConfig, PluginInfo, ThreatModel

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim


@ATTACKS.register("shuffle")
class Shuffle(Attack[NoConfig]):
    """Point order as a threat: each cloud's points in a uniformly random order (rgb with them).

    A point cloud is a set, yet encoders that subsample it by farthest point sampling start at
    the first point, so the same shape stored in another order can be classified differently.
    This attack moves no point; it measures how much of a victim's accuracy is the order its
    dataset files happen to store. Every other cell evaluates the clouds in the stored order.
    The order is drawn per sample from the cell's seeded random stream, so a rerun reproduces
    it. On a deterministic victim, the indicator `order_changes_verdicts` fires when the
    reordered clouds are significantly less often right than the stored ones.

    No stats, no queries: the order does not look at the victim.
    """

    Config = NoConfig
    version = 1
    access = "random"
    info = PluginInfo(
        display="Shuffle",
        description="The clean points in a random order: does the verdict depend on order?",
        cite="Qi et al., PointNet, CVPR 2017 (permutation invariance)",
    )

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm="none", reordered=True)

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        from bench.contracts.randomness import rand

        clean = points.detach()
        batch, count, channels = clean.shape
        order = rand(generator, batch, count, device=clean.device).argsort(dim=1)
        return AttackOutput(points=clean.gather(1, order.unsqueeze(-1).expand(-1, -1, channels)))
