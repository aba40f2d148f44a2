"""SI-Adv (Huang et al.): gradient steps confined to each point's tangent plane."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.contracts.bounds import EOT_DRAWS, EPS, STEPS, integer, number, require
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim


@dataclass(frozen=True)
class SIAdvConfig:
    """SI-Adv settings (defaults: a quick run; see `SIAdv.presets["paper"]`).

    `step_size` is the root-mean-square coordinate change of one step; `normal_k` the
    neighbours a normal is estimated from. `eot_draws` is how many noise draws of a stochastic
    victim each step averages; 0 means automatic.
    """

    eps: float = 0.05
    steps: int = 20
    step_size: float = 0.007
    normal_k: int = 20
    targeted: bool = False
    eot_draws: int = 0

    def __post_init__(self) -> None:
        require(
            self,
            "si_adv",
            {
                "eps": EPS,
                "steps": STEPS,
                "step_size": number(0, 1_000, low_open=True),
                "normal_k": integer(3, 1_024),
                "eot_draws": EOT_DRAWS,
            },
        )


@ATTACKS.register("si_adv")
class SIAdv(Attack[SIAdvConfig]):
    """Shape-invariant white-box attack: each point moves only within its tangent plane.

    The normals are estimated once, on the clean cloud (the least-variance direction of each
    point's 20 nearest points, as Open3D does), and kept for the whole run, as the reference
    keeps the dataset's normals (ModelNet40 ships them; `shikiw/SI-Adv` reads them from the
    input). Every step removes the normal component of the gradient of the C&W margin
    (kappa 0), and descends along what is left, normalised
    over the whole cloud and scaled to `step_size` * sqrt(3N): a root-mean-square coordinate
    change of `step_size`. The reference writes this as a rotation of each point into a frame
    whose third axis is its normal, with that axis's gradient zeroed; the step is the same.
    Moving along tangents slides points over the surface instead of lifting them off it, so the
    shape, and outlier-removal defenses, see little.

    Threat model: L-inf eps around the clean cloud, the perturbation clipped after every step,
    as the reference clips (its `ClipPointsLinf` clamps each coordinate; IF-Defense's class of
    that name, which AOF and AdvPC use, clips each point's length instead). After the clip a
    point may have left its tangent plane slightly. Only xyz moves; rgb is returned untouched.

    Returned cloud: as PGD's, each sample's first iterate judged a success (confirmed by a fresh
    vote of a stochastic victim), else its highest cross-entropy iterate; a sample leaves the
    run at its first success. Against a stochastic victim the margin is averaged over
    `eot_draws` draws (EOT).

    Configs: the default is a quick run (eps 0.05, 20 steps of 0.007). The preset `paper` is
    the reference's white-box setting: 50 steps of 0.007 within 0.16, normals from 20
    neighbours (`shikiw/SI-Adv`, `--eps 0.16 --step_size 0.007 --max_steps 50`).

    Stats per sample: `loss_start`, `loss_final` (cross-entropy toward the label, or toward
    `target` when targeted, at the clean and the returned cloud) and `success_step` (the first
    iterate judged a success; 0: the clean cloud; -1: none).
    """

    Config = SIAdvConfig
    version = 1
    info = PluginInfo(
        display="SI-Adv",
        description="Margin descent within each point's tangent plane, L-inf ball.",
        cite="Huang et al., Shape-invariant 3D Adversarial Point Clouds, CVPR 2022",
    )
    presets: ClassVar[Mapping[str, SIAdvConfig]] = {
        "paper": SIAdvConfig(eps=0.16, steps=50, step_size=0.007, normal_k=20),
    }
    smoke = SIAdvConfig(steps=4)

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm="linf", eps=self.config.eps)

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        import torch

        from bench.adversarial.balls import cloud_norm, project, tiny
        from bench.adversarial.losses import margin
        from bench.adversarial.skeleton import descend, open_attack
        from bench.adversarial.surface import normals, tangent

        config = self.config
        start = open_attack(
            victim, points, labels, generator, config.eot_draws, config.targeted, confirm=True
        )
        stats = start.stats()
        if config.eps == 0 or config.steps == 0:
            return start.unchanged(stats)
        clean = start.clean
        surface = normals(clean[..., :3], config.normal_k)
        scale = config.step_size * (3 * clean.shape[1]) ** 0.5

        def step(part: torch.Tensor, logits: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            objective = margin(logits, start.classes[rows], config.targeted).sum()
            (gradient,) = torch.autograd.grad(objective, part)
            with torch.no_grad():
                along = tangent(gradient, surface[rows])
                along = along / cloud_norm(along).clamp_min(tiny(along))
                return project(part - scale * along, "linf", config.eps)

        delta = torch.zeros_like(clean[..., :3])
        best = descend(victim, start, delta, config.steps, config.targeted, step)
        stats["loss_final"] = best.loss
        stats["success_step"] = best.success_step
        return AttackOutput(
            points=best.points, gradient_queries=config.steps * start.draws, stats=stats
        )
