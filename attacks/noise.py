"""Random noise filling an attack's budget: the floor every real attack must beat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.contracts.bounds import EPS, Rules, one_of, require
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim

NORMS = ("linf", "l2")
DISTRIBUTIONS = ("vertex", "uniform")


@dataclass(frozen=True)
class NoiseConfig:
    """Noise settings: `distribution` "vertex" fills the budget, "uniform" samples the ball."""

    norm: str = "linf"
    eps: float = 0.05
    distribution: str = "vertex"

    def __post_init__(self) -> None:
        rules: Rules = {"norm": one_of(*NORMS), "eps": EPS, "distribution": one_of(*DISTRIBUTIONS)}
        require(self, "noise", rules)


@ATTACKS.register("noise")
class Noise(Attack[NoiseConfig]):
    """Random xyz perturbations in the same L-inf or global L2 ball as PGD and APGD.

    A sanity baseline: it never looks at the victim (no logits, no gradients), so an attack
    that does no better than noise at the same budget has found nothing, and a defense that
    only resists attacks it can mislead still falls to this floor's comparison.

    "vertex" (default) takes an extreme point of the ball, filling the budget: every
    coordinate moves by exactly +-eps with independent fair signs (L-inf), or the whole
    cloud moves by a uniformly random direction (a normalised Gaussian) of norm exactly eps
    (L2). "uniform" draws uniformly inside the ball (`bench.adversarial.balls.random_start`,
    PGD's random start). rgb is never touched. All randomness comes from the generator.

    No stats: there is no loss to report and no step at which anything succeeded.
    """

    Config = NoiseConfig
    version = 1
    access = "random"
    info = PluginInfo(
        display="Noise",
        description="Random perturbations that fill an L-inf or L2 budget, without the victim.",
        cite="Carlini et al., On Evaluating Adversarial Robustness, arXiv:1902.06705, 2019",
    )

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm=self.config.norm, eps=self.config.eps)

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        from bench.adversarial.balls import compose

        clean = points.detach()
        if self.config.eps == 0:
            return AttackOutput(points=clean.clone())
        return AttackOutput(points=compose(clean, self._delta(clean[..., :3], generator)))

    def _delta(self, xyz: torch.Tensor, generator: RandomSource) -> torch.Tensor:
        from bench.adversarial.balls import cloud_norm, random_start, tiny
        from bench.contracts.randomness import rand, randn

        config = self.config
        if config.distribution == "uniform":
            return random_start(xyz, config.norm, config.eps, generator)
        options: dict[str, Any] = {"dtype": xyz.dtype, "device": xyz.device}
        if config.norm == "linf":
            signs = (rand(generator, *xyz.shape, **options) < 0.5).to(xyz.dtype) * 2 - 1
            return config.eps * signs
        direction = randn(generator, *xyz.shape, **options)
        return direction * (config.eps / cloud_norm(direction).clamp_min(tiny(direction)))
