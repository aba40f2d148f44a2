"""An attack plugin: the best of several uniform random perturbations in the L-inf ball.

A gradient-free baseline: if a gradient attack does no better than random noise of the same
budget, its gradients are probably masked.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.adversarial.eot import resolve_draws
from bench.adversarial.losses import cross_entropy
from bench.contracts.bounds import EOT_DRAWS, integer, number, require
from bench.contracts.plugins import Attack, AttackOutput, PluginInfo, ThreatModel
from bench.contracts.randomness import RandomSource, rand
from bench.contracts.victim import Victim


@dataclass(frozen=True)
class RandomNoiseConfig:
    eps: float = 0.05  # L-inf budget per coordinate
    tries: int = 8  # random draws per cloud; the one with the highest loss is kept
    eot_draws: int = 0  # noise draws of a stochastic victim averaged per query (0: automatic)

    def __post_init__(self) -> None:
        require(
            self,
            "random_noise",
            {"eps": number(0, 2), "tries": integer(1, 1000), "eot_draws": EOT_DRAWS},
        )


class RandomNoise(Attack[RandomNoiseConfig]):
    """Keep, per cloud, the random perturbation with the highest cross-entropy."""

    Config = RandomNoiseConfig
    version = 2
    access = "scores"  # it reads the victim's logits, never its gradients
    info = PluginInfo(
        display="Random noise",
        description="Best of N uniform random L-inf perturbations (a gradient-free baseline)",
    )

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm="linf", eps=self.config.eps)

    @torch.no_grad()
    def run(
        self, victim: Victim, points: torch.Tensor, labels: torch.Tensor, generator: RandomSource
    ) -> AttackOutput:
        draws = resolve_draws(self.config.eot_draws, victim)  # 1 for a deterministic victim
        best = points.clone()
        wide = torch.promote_types(points.dtype, torch.float32)  # the losses' dtype
        best_loss = torch.full((len(points),), -torch.inf, dtype=wide, device=points.device)
        for _ in range(self.config.tries):
            # Draw through bench's helper: one stream per sample, so results are batch-invariant.
            noise = rand(generator, len(points), *points.shape[1:], device=points.device)
            candidate = points.clone()
            candidate[..., :3] += (2 * noise[..., :3] - 1) * self.config.eps
            # The mean loss over `draws` noise draws (EOT), so a stochastic victim is averaged.
            loss = cross_entropy(victim.sample(candidate, draws), labels)
            better = loss > best_loss
            best[better], best_loss[better] = candidate[better], loss[better]
        return AttackOutput(points=best, gradient_queries=0, stats={"loss_final": best_loss})
