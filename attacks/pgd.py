"""Projected gradient descent (Madry et al.) on point coordinates, in an L-inf or L2 ball."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.contracts.bounds import (
    EOT_DRAWS,
    EPS,
    RESTARTS,
    STEPS,
    number,
    one_of,
    optional,
    require,
)
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel

if TYPE_CHECKING:
    import torch

    from bench.adversarial.skeleton import Best, Opening
    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim

NORMS = ("linf", "l2", "point_l2")
# Bag of Tricks' global L2 budget: 0.08 per coordinate, times sqrt(3N) for N = 1024 points.
BOT_L2_EPS = round(0.08 * (3 * 1024) ** 0.5, 4)


@dataclass(frozen=True)
class PGDConfig:
    """PGD settings; `step_size=None` means 2.5 * eps / steps.

    `eot_draws` is how many noise draws of a stochastic victim each step averages (EOT); 0 means
    automatic: 1 against a deterministic victim, `bench.adversarial.eot.DEFAULT_EOT_DRAWS`
    otherwise.
    """

    norm: str = "linf"
    eps: float = 0.05
    steps: int = 10
    step_size: float | None = None
    random_start: bool = True
    targeted: bool = False
    restarts: int = 1
    eot_draws: int = 0

    def __post_init__(self) -> None:
        require(
            self,
            "pgd",
            {
                "norm": one_of(*NORMS),
                "eps": EPS,
                "steps": STEPS,
                "step_size": optional(number(0, 1_000, low_open=True)),
                "restarts": RESTARTS,
                "eot_draws": EOT_DRAWS,
            },
        )

    def alpha(self) -> float:
        """The step size actually taken."""
        if self.step_size is not None:
            return self.step_size
        return 2.5 * self.eps / max(self.steps, 1)


@ATTACKS.register("pgd")
class PGD(Attack[PGDConfig]):
    """PGD maximising cross-entropy (or minimising it toward a random target class).

    Threat model: "linf" bounds every coordinate change by eps; "l2" bounds the Frobenius norm
    of the whole cloud's [N, 3] coordinate change (the PointDP / IF-Defense "global L2");
    "point_l2" bounds each point's displacement length (what IF-Defense calls "L-inf").
    Only xyz (the first three channels) move; rgb is returned untouched. There is no data-range
    clamp: points live in R^3, and clamping to a box would be an unstated extra constraint.

    Steps: L-inf takes the sign of the gradient, L2 the gradient divided by its per-cloud L2
    norm; the perturbation is projected back onto the ball after every step. The step size
    defaults to 2.5 * eps / steps (Madry et al.), enough to cross the ball from a random start.
    The random start is uniform in the L-inf ball, or uniform in the L2 ball (uniform direction,
    radius eps * u^(1 / 3N)), drawn only from the given generator.

    Returned cloud: each sample's best iterate, not the last one: the first iterate judged a
    success, else the one with the highest objective, over every step of every restart. An
    iterate is judged on the forward pass that also gives its gradient (no extra cost); PGD's
    last iterate can be worse than an earlier one, since sign steps overshoot. A sample leaves
    the run at its first success, which cannot be bettered, so a strong attack costs little and
    the steps go to the samples still standing (`gradient_queries` is the per-sample budget).

    The gradient is the cross-entropy gradient up to a positive per-sample factor, computed in
    closed form from the logits (softmax of the other logits minus the label indicator). Sign and
    normalised steps ignore that factor, and a confident victim (logit scale 100) cannot
    underflow it to exactly zero, which would silently stall plain cross-entropy PGD.

    Against a stochastic victim every step follows the mean cross-entropy gradient over
    `eot_draws` noise draws (EOT): each draw's closed-form direction weighted by its 1 - p_y,
    relative to the largest over the draws, which is the mean gradient up to a positive factor.
    Iterates are then judged on the mean loss and on a quorum of the step's draws (`fooled`),
    and a success is confirmed by a fresh majority vote before the sample stops
    (`Victim.confirm`): otherwise the first step whose draws were fooled by chance would end it.

    Configs: the default is a quick run (eps 0.05, 10 steps, step 0.0125). The preset
    `paper` is the literature's evaluation setting (PointDP's PGD configs): L-inf
    eps 0.05, step eps / 10 = 0.005, 200 steps, random start. The preset `bot_l2` is the
    global L2 budget of the Bag-of-Tricks benchmark (Ji et al., ICCV 2023,
    `baselines/attack_scripts/untargeted_fgm_attack.py`, after GvG-P): 0.08 * sqrt(3N) =
    4.4341 for 1,024 points, 50 steps of budget / 50; their loss is the logit margin (kappa 0),
    here cross-entropy. For another point count N, set eps to 0.08 * sqrt(3N).

    Stats per sample: `loss_start` and `loss_final`, the cross-entropy toward the label
    (untargeted; the attack raises it) or toward `target` (targeted; the attack lowers it) at
    the clean input and at the returned cloud (means over draws against a stochastic victim);
    `success_step`, the first iterate judged a success (0: the start; -1: none), from which one
    long run gives robust accuracy as a function of the step count.
    """

    Config = PGDConfig
    version = 5
    info = PluginInfo(
        display="PGD",
        description="Projected gradient descent on xyz within an L-inf or global L2 ball.",
        cite="Madry et al., Towards Deep Learning Models Resistant to Adversarial Attacks,"
        " ICLR 2018",
    )
    presets: ClassVar[Mapping[str, PGDConfig]] = {
        "paper": PGDConfig(norm="linf", eps=0.05, steps=200, step_size=0.005, random_start=True),
        "bot_l2": PGDConfig(norm="l2", eps=BOT_L2_EPS, steps=50, step_size=BOT_L2_EPS / 50),
    }

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm=self.config.norm, eps=self.config.eps)

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        return run_pgd(self.config, victim, points, labels, generator)


def run_pgd(
    config: PGDConfig,
    victim: Victim,
    points: torch.Tensor,
    labels: torch.Tensor,
    generator: RandomSource,
    targets: torch.Tensor | None = None,
) -> AttackOutput:
    """PGD as configured; `targets` [B] fixes a targeted run's classes instead of drawing them
    (an open-vocabulary target, `attacks.open_target`)."""
    from bench.adversarial.skeleton import open_attack

    start = open_attack(
        victim,
        points,
        labels,
        generator,
        config.eot_draws,
        config.targeted,
        confirm=True,
        targets=targets,
    )
    stats = start.stats()
    if config.eps == 0 or config.steps == 0:
        return start.unchanged(stats)

    best: Best | None = None
    for _ in range(config.restarts):
        best = _restart(victim, start, config, generator, best)
    assert best is not None
    stats["loss_final"] = best.loss
    stats["success_step"] = best.success_step
    return AttackOutput(
        points=best.points,
        gradient_queries=config.steps * config.restarts * start.draws,
        stats=stats,
    )


def _restart(
    victim: Victim,
    start: Opening,
    config: PGDConfig,
    generator: RandomSource,
    best: Best | None,
) -> Best:
    """One PGD run from a (random) start, updating each sample's best iterate so far
    (`bench.adversarial.skeleton.descend`): ascent along the normalised cross-entropy gradient,
    projected onto the ball."""
    import torch

    from bench.adversarial.balls import project, random_start, unit_step
    from bench.adversarial.losses import cross_entropy_direction
    from bench.adversarial.skeleton import descend

    xyz = start.clean[..., :3]
    if config.random_start:
        delta = random_start(xyz, config.norm, config.eps, generator)
    else:
        delta = torch.zeros_like(xyz)
    alpha = config.alpha()

    def step(part: torch.Tensor, logits: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        direction = cross_entropy_direction(logits.detach(), start.classes[rows], config.targeted)
        (gradient,) = torch.autograd.grad(logits, part, grad_outputs=direction)
        with torch.no_grad():
            return project(part + alpha * unit_step(gradient, config.norm), config.norm, config.eps)

    return descend(victim, start, delta, config.steps, config.targeted, step, best)
