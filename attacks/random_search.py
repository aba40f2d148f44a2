"""A score-based random search in the spirit of Square Attack, on spatial patches of the cloud."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bench.contracts.bounds import EOT_DRAWS, EPS, STEPS, number, one_of, require
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim

NORMS = ("linf", "l2")
# Square Attack's schedule of the patch size, for 10,000 iterations (rescaled to `steps`):
# at iteration t, p_init is divided by the divisor of the first bound that t does not exceed.
SCHEDULE_LENGTH = 10_000
SCHEDULE = (
    (10, 1),
    (50, 2),
    (200, 4),
    (500, 8),
    (1000, 16),
    (2000, 32),
    (4000, 64),
    (6000, 128),
    (8000, 256),
)
LAST_DIVISOR = 512


@dataclass(frozen=True)
class RandomSearchConfig:
    """Random-search settings: `steps` proposals (one forward query each) per sample.

    `p_init` is the fraction of the cloud's points a patch covers at first; it shrinks on
    Square Attack's schedule down to p_init / 512 (never below one point). `eot_draws` as in
    PGD: each query averages that many draws of a stochastic victim.
    """

    norm: str = "linf"
    eps: float = 0.05
    steps: int = 200
    p_init: float = 0.8
    targeted: bool = False
    eot_draws: int = 0

    def __post_init__(self) -> None:
        require(
            self,
            "random_search",
            {
                "norm": one_of(*NORMS),
                "eps": EPS,
                "steps": STEPS,
                "p_init": number(0, 1, low_open=True),
                "eot_draws": EOT_DRAWS,
            },
        )


def patch_fraction(p_init: float, step: int, steps: int) -> float:
    """The fraction of points the patch of proposal `step` (0-based) covers, out of `steps`.

    Square Attack's `p_selection` with its schedule rescaled to the number of iterations.
    """
    position = int(step / steps * SCHEDULE_LENGTH)
    for bound, divisor in SCHEDULE:
        if position <= bound:
            return p_init / divisor
    return p_init / LAST_DIVISOR


@ATTACKS.register("random_search")
class RandomSearch(Attack[RandomSearchConfig]):
    """Gradient-free random search on xyz in an L-inf or global L2 ball, reading logits only.

    A check for gradient masking: it never asks for a gradient, so a defense that only breaks
    gradients (non-differentiable preprocessing, saturated softmax) does not slow it down, and
    a robust accuracy below a gradient attack's flags that attack as misled.

    Square Attack (Andriushchenko et al., ECCV 2020) perturbs random squares of an image;
    a cloud has no pixel grid, so a "square" here is a spatial patch: a random centre point
    and its nearest neighbours in the clean cloud, a fraction p of its points, with p shrinking
    on Square Attack's schedule (`patch_fraction`, rescaled to `steps`, as AutoAttack's
    `resc_schedule`). Each iteration makes one proposal per sample, judged with one forward
    query, and keeps it if it lowers the margin loss z_y - max_{j != y} z_j (targeted:
    max_{j != t} z_j - z_t, toward a random target), a mean over the EOT draws, or if the
    quorum of those draws is fooled (`fooled`); a fooled sample stops, once a fresh majority
    vote of a stochastic victim confirms it (`Victim.confirm`).

    L-inf: the start is a random vertex of the box (every coordinate +-eps, from the
    generator; Square Attack starts on vertical stripes, which a cloud does not have). A
    proposal moves the whole patch to a new random vertex, one sign per axis shared by the
    patch's points, as Square Attack sets a square to one value per colour channel: a coherent
    local translation by (+-eps, +-eps, +-eps), which also keeps every coordinate on the bound.

    L2 (a simpler scheme than Square Attack's paired windows): the start is a Gaussian
    direction over the whole cloud, scaled to norm eps. A proposal redraws the patch's
    perturbation as a Gaussian direction whose norm is sqrt(|delta_patch|^2 + eps^2 k / N)
    (its current mass plus its fair share of the budget, for a k-point patch of an N-point
    cloud), then rescales the whole perturbation back onto the sphere of radius eps. Accepted
    proposals thus shift budget toward the patches that help, as Square Attack's L2 updates do.

    Config: the default is a quick run (eps 0.05, 200 iterations). `p_init` is AutoAttack's
    0.8 (its CIFAR-10 standard; the paper used 0.05 on ImageNet): large patches first, down to
    a single point of a 1024-point cloud. On the toy victim (1024 points, L-inf 0.12 and 0.15)
    it left fewer clouds robust than 0.1 or 0.3 in 1000 iterations, and in 200 iterations
    larger was better all the way from 0.02 to 0.4: a max-pooled global feature moves little
    when only a few points do.
    The preset `paper` uses AutoAttack's standard query budget for Square, 5000 iterations.

    Stats per sample: `loss_start` and `loss_final`, the cross-entropy toward the label (or
    the target) at the clean and at the returned cloud; `success_step` (0: the start; k: the
    k-th proposal; -1: never fooled); `queries`, the forward passes it used (draws included):
    the clean cloud, the start and one per proposal until fooled; `target` when targeted.
    """

    Config = RandomSearchConfig
    version = 2
    access = "scores"
    info = PluginInfo(
        display="Random search",
        description="Square-Attack-style random search over spatial patches, from logits only.",
        cite="Andriushchenko et al., Square Attack: a query-efficient black-box adversarial"
        " attack via random search, ECCV 2020",
    )
    presets: ClassVar[Mapping[str, RandomSearchConfig]] = {
        "paper": RandomSearchConfig(norm="linf", eps=0.05, steps=5000)
    }
    smoke = RandomSearchConfig(steps=50)  # 200 queries of 16 draws take seconds on a CPU

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm=self.config.norm, eps=self.config.eps)

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        import torch

        with torch.no_grad():
            return self._search(victim, points.detach(), labels, generator)

    def _search(
        self,
        victim: Victim,
        clean: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        import torch

        from bench.adversarial.balls import compose
        from bench.adversarial.losses import cross_entropy, margin
        from bench.adversarial.skeleton import Best, Iterate, open_attack, verdict

        config = self.config
        targeted = config.targeted
        start = open_attack(victim, clean, labels, generator, config.eot_draws, targeted)
        classes, draws = start.classes, start.draws
        stats = start.stats()
        queries = torch.full_like(labels, draws)
        if config.eps == 0 or config.steps == 0:
            output = start.unchanged(stats)
            output.stats["queries"] = queries
            return output

        def judge(delta: torch.Tensor, rows: torch.Tensor) -> Iterate:
            """The perturbation `delta` of these rows, queried once and judged."""
            with victim.rows(rows):
                adversarial = compose(clean[rows], delta)
                logits = victim.sample(adversarial, draws)
                success = verdict(victim, adversarial, logits, classes[rows], targeted)
            score = -margin(logits, classes[rows], targeted, kappa=math.inf)
            return Iterate(delta, cross_entropy(logits, classes[rows]), score, success)

        xyz = clean[..., :3]
        everyone = torch.arange(len(clean), device=clean.device)
        best = Best(judge(_start(xyz, config.norm, config.eps, generator), everyone), step=0)
        queries += draws
        for step in range(config.steps):
            # Drawn for the whole batch, so that each sample's stream advances alike.
            proposal = _Proposal.draw(xyz, config, step, generator)
            rows = best.standing()
            if not len(rows):
                break
            candidate = proposal.apply(best.points[rows], xyz[rows], rows, config)
            best.update(judge(candidate, rows), step + 1, rows)
            queries[rows] += draws
        stats.update(loss_final=best.loss, success_step=best.success_step, queries=queries)
        return AttackOutput(points=compose(clean, best.points), gradient_queries=0, stats=stats)


def _start(xyz: torch.Tensor, norm: str, eps: float, generator: RandomSource) -> torch.Tensor:
    """A random vertex of the box (L-inf), or a Gaussian direction of norm eps (L2)."""

    from bench.adversarial.balls import cloud_norm, tiny
    from bench.contracts.randomness import rand, randn

    batch, count, _ = xyz.shape
    options: dict[str, Any] = {"dtype": xyz.dtype, "device": xyz.device}
    if norm == "linf":
        return eps * _signs(rand(generator, batch, count, 3, **options))
    direction = randn(generator, batch, count, 3, **options)
    return direction * (eps / cloud_norm(direction).clamp_min(tiny(direction)))


def _signs(uniform: torch.Tensor) -> torch.Tensor:
    """Random signs +-1 from uniform numbers in [0, 1), in their dtype."""
    return (uniform < 0.5).to(uniform.dtype) * 2 - 1


@dataclass(frozen=True)
class _Proposal:
    """One iteration's random draws for every sample of the batch: patch centres and values."""

    centre: torch.Tensor  # [B] point index
    size: int  # points in the patch
    values: torch.Tensor  # L-inf: signs [B, 1, 3]; L2: a Gaussian [B, size, 3]

    @classmethod
    def draw(
        cls, xyz: torch.Tensor, config: RandomSearchConfig, step: int, generator: RandomSource
    ) -> _Proposal:

        from bench.contracts.randomness import rand, randn

        batch, count, _ = xyz.shape
        size = max(round(patch_fraction(config.p_init, step, config.steps) * count), 1)
        options: dict[str, Any] = {"dtype": xyz.dtype, "device": xyz.device}
        if config.norm == "linf":
            uniform = rand(generator, batch, 4, **options)
            values = _signs(uniform[:, None, 1:])
        else:
            uniform = rand(generator, batch, 1, **options)
            values = randn(generator, batch, size, 3, **options)
        centre = (uniform[:, 0] * count).long().clamp(max=count - 1)
        return cls(centre, size, values)

    def apply(
        self,
        delta: torch.Tensor,
        xyz: torch.Tensor,
        rows: torch.Tensor,
        config: RandomSearchConfig,
    ) -> torch.Tensor:
        """The proposed perturbation of these rows (their `delta` and clean `xyz`)."""
        from bench.adversarial.balls import cloud_norm, tiny
        from bench.adversarial.distances import nearest_index

        centre = xyz.gather(1, self.centre[rows, None, None].expand(-1, 1, 3))
        patch = nearest_index(centre, xyz, self.size)[:, 0, :, None].expand(-1, -1, 3)
        values = self.values[rows]
        eps = config.eps
        if config.norm == "linf":
            return delta.scatter(1, patch, (eps * values).expand(-1, self.size, 3))
        mass = cloud_norm(delta.gather(1, patch)).square()
        radius = (mass + eps**2 * self.size / xyz.shape[1]).sqrt()
        direction = values / cloud_norm(values).clamp_min(tiny(values))
        moved = delta.scatter(1, patch, direction * radius)
        return moved * (eps / cloud_norm(moved).clamp_min(tiny(moved)))
