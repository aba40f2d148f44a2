"""The kNN attack (Tsai et al.): a C&W margin plus Chamfer and kNN-outlier penalties, with Adam."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from bench.contracts.bounds import EOT_DRAWS, EPS, LR, STEPS, integer, number, require
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel

# Steps between two neighbour searches of the penalties (see `KNNAttack`).
NEIGHBOUR_REFRESH = 10
# Ranks a success short of the margin kappa behind every one that reaches it: above any
# Chamfer sum of a cloud within the ball, plus its margin (in float64, exact enough for both).
SHORT_OF_KAPPA = 1e9

if TYPE_CHECKING:
    import torch

    from bench.adversarial.skeleton import Iterate
    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim


@dataclass(frozen=True)
class KNNConfig:
    """kNN-attack settings (defaults: a quick run; see `KNNAttack.presets["paper"]`).

    `kappa` floors the margin at -kappa (Tsai's `--logits-lower-bound` -15); `knn_k` and
    `knn_alpha` are the outlier penalty's neighbour count and std multiplier. `eot_draws` is how
    many noise draws of a stochastic victim each step averages; 0 means automatic.
    """

    eps: float = 0.1
    steps: int = 100
    lr: float = 1e-3
    kappa: float = 15.0
    chamfer_weight: float = 3.0
    knn_weight: float = 5.0
    knn_k: int = 5
    knn_alpha: float = 1.05
    targeted: bool = False
    eot_draws: int = 0

    def __post_init__(self) -> None:
        require(
            self,
            "knn",
            {
                "eps": EPS,
                "steps": STEPS,
                "lr": LR,
                "kappa": number(0, 1_000),
                "chamfer_weight": number(0, 10_000),
                "knn_weight": number(0, 10_000),
                "knn_k": integer(1, 1_024),
                "knn_alpha": number(-100, 100),
                "eot_draws": EOT_DRAWS,
            },
        )


@ATTACKS.register("knn")
class KNNAttack(Attack[KNNConfig]):
    """Tsai et al.'s kNN attack: smooth, bounded point shifts that survive outlier removal.

    Objective, minimised per sample with Adam (lr 1e-3) on the xyz displacement:
    margin + chamfer_weight * Chamfer + knn_weight * kNN penalty, where
    - margin is the C&W logit margin floored at -kappa = -15 (untargeted z_y - max_{j!=y} z_j,
      targeted max_{j!=t} z_j - z_t; averaged over the draws against a stochastic victim);
    - Chamfer is Tsai's: the SUM over adversarial points of the squared distance to the nearest
      clean point (`chamfer_sum`). The IF-Defense port (`baselines/attack/CW/kNN.py`) takes the
      mean and multiplies it by N, the same number;
    - the kNN penalty (`knn_outlier_penalty`, k 5, alpha 1.05) sums each point's mean squared
      distance to its 5 nearest neighbours over the points above mean + 1.05 std of it: it pulls
      in the outliers that a statistical-outlier-removal defense would strip.
    The per-sample objectives are summed, not averaged, over the batch: Adam acts per
    coordinate, so a sample's steps then do not depend on the batch it is in.

    Weights: Tsai's CLI defaults, Chamfer 3 and kNN 5 (`jinyier/ai_pointnet_attack` attack.py).
    The IF-Defense port swaps them (Chamfer 5, kNN 3) and PointDP uses 10 and 6; results with
    other weights are a different attack, so set them explicitly when comparing to those.

    Threat model: each point's displacement length is clipped to eps = 0.1 ("point_l2",
    Tsai's `cc_linf`), after every step as in the IF-Defense port (Tsai clips every 10 steps,
    so his intermediate iterates may leave the ball). Tsai also projects moves into the surface
    onto the tangent plane, which needs normals; these clouds have none, so that projection is
    not done and the ball is the whole constraint. Tsai's resampling of 1024 of 10,000 points
    and random rotations (EOT over sampling) are not done either: the cloud is attacked as given.
    The displacement starts at zero (the IF-Defense port adds 1e-7 noise, which changes nothing
    but the tie-breaking); only the random targets of a targeted run use the generator. Only xyz
    moves; rgb is returned untouched.

    Returned cloud: iterate k (k = 0 is the clean cloud) is judged on the forward pass that also
    gives its gradient, by a quorum of the draws (`fooled`). Each sample keeps, among its
    successful iterates that reach the margin kappa (margin at its floor in every draw), the one
    with the smallest Chamfer sum; if none reaches kappa, the success with the lowest margin; if
    none succeeded, the iterate with the lowest objective. Keeping the smallest-Chamfer success
    of any margin (version 2) returned clouds that barely crossed the boundary (median margin
    -0.66 with kappa 15), which a defense such as SOR then undid; the margin kappa is what the
    objective asks for, so it is what a kept success must reach. A sample fooled as it is keeps
    its clean cloud and is not optimised. No other sample stops early: after success the steps
    push the margin to its floor and then shrink the penalties. (Tsai and the IF-Defense port
    return the last iterate.)

    Neighbours (a choice for speed; the references search them at every step): the nearest
    clean point of each adversarial point and its k nearest adversarial neighbours are searched
    every NEIGHBOUR_REFRESH = 10 steps and reused in between; the distances to them are exact
    and differentiable. In 10 steps of lr 1e-3 a point moves about 0.017 at most, a fraction
    of the clouds' point spacing, so the neighbours rarely change, and when one does the penalty
    measured to the old one is larger, never smaller, than the exact one. The search was most
    of the attack's cost. `chamfer_sum` and `knn_penalty` of the returned cloud are exact.

    Configs: the default is a quick run of 100 steps. Adam moves a coordinate by at most about lr
    per step, so 100 steps of 1e-3 is the least that lets a point reach the 0.1 budget along an
    axis; expect weaker results than the paper's. The preset `paper` is Tsai's 2500 steps.

    Stats per sample: `loss_start` and `loss_final`, the cross-entropy toward the label
    (untargeted; the attack raises it) or toward `target` (targeted; lowers it) at the clean
    cloud and at the returned one; `success_step`, the first iterate judged a success (0: the
    clean cloud; -1: none); `margin_final`, the margin of the returned cloud floored at -kappa
    (-kappa: it reached kappa); `chamfer_sum` and `knn_penalty`, the two penalty terms
    (unweighted) of the returned cloud. The clean cloud's own kNN penalty is not zero: some of
    its points are always above mean + 1.05 std.
    """

    Config = KNNConfig
    version = 3
    info = PluginInfo(
        display="kNN",
        description="C&W margin with Chamfer and kNN-outlier penalties, per-point clip 0.1.",
        cite="Tsai et al., Robust Adversarial Objects against Deep Learning Models, AAAI 2020",
    )
    presets: ClassVar[Mapping[str, KNNConfig]] = {"paper": KNNConfig(steps=2500)}
    smoke = KNNConfig(steps=8)

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm="point_l2", eps=self.config.eps, penalised=("chamfer", "knn"))

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        import torch

        from bench.adversarial.distances import knn_outlier_penalty, nearest_squared
        from bench.adversarial.losses import margin
        from bench.adversarial.skeleton import open_attack

        config = self.config
        if points.shape[1] <= config.knn_k:
            raise ConfigError(
                f"kNN attack knn_k ({config.knn_k}) must be smaller than the cloud size"
                f" ({points.shape[1]} points)."
            )
        start = open_attack(victim, points, labels, generator, config.eot_draws, config.targeted)
        clean, stats = start.clean, start.stats()
        steps = config.steps if config.eps > 0 else 0
        result = clean.clone()
        stats["loss_final"] = start.loss.clone()
        stats["success_step"] = torch.where(start.success, 0, -1)
        stats["margin_final"] = margin(start.logits, start.classes, config.targeted, config.kappa)
        # A sample fooled as it is keeps its clean cloud (Chamfer 0 cannot be beaten).
        active = start.standing()
        if steps and len(active):
            with victim.rows(active):
                found = _optimise(
                    victim, clean[active], start.classes[active], config, start.draws, steps
                )
            result[active] = found.points
            stats["loss_final"][active] = found.loss
            stats["success_step"][active] = found.success_step
            stats["margin_final"][active] = found.margin
        with torch.no_grad():  # exact, where the steps measured to neighbours found earlier
            xyz = result[..., :3]
            stats["chamfer_sum"] = nearest_squared(xyz, clean[..., :3]).sum(dim=1)
            stats["knn_penalty"] = knn_outlier_penalty(xyz, config.knn_k, config.knn_alpha)
        return AttackOutput(points=result, gradient_queries=steps * start.draws, stats=stats)


class _Found(NamedTuple):
    """Each sample's kept iterate, with its margin (floored at -kappa)."""

    points: torch.Tensor
    loss: torch.Tensor
    success_step: torch.Tensor
    margin: torch.Tensor


def _optimise(
    victim: Victim,
    clean: torch.Tensor,
    classes: torch.Tensor,
    config: KNNConfig,
    draws: int,
    steps: int,
) -> _Found:
    """Adam on the displacement of these clouds, clipped per point; each one's best iterate."""
    import torch

    from bench.adversarial.adam import Adam
    from bench.adversarial.balls import compose, project
    from bench.adversarial.skeleton import Best

    delta = torch.zeros_like(clean[..., :3])
    adam = Adam(delta, config.lr)
    best: Best | None = None
    best_margin = torch.zeros(len(clean), device=clean.device)
    neighbours: _Neighbours | None = None
    for step in range(steps + 1):
        last = step == steps
        with torch.set_grad_enabled(not last):
            delta.requires_grad_(not last)
            adversarial = compose(clean, delta)
            if neighbours is None or step % NEIGHBOUR_REFRESH == 0:
                neighbours = _Neighbours.search(adversarial[..., :3], clean[..., :3], config)
            logits = victim.sample(adversarial, draws)
            current, objective, floored = _judge(
                adversarial, logits, clean, classes, config, neighbours
            )
        if best is None:
            best, best_margin = Best(current, step), floored.clone()
        else:
            best_margin = torch.where(best.update(current, step), floored, best_margin)
        if last:
            break
        (gradient,) = torch.autograd.grad(objective.sum(), delta)
        with torch.no_grad():
            delta = project(adam.step(delta.detach(), gradient), "point_l2", config.eps)
    assert best is not None
    return _Found(best.points, best.loss, best.success_step, best_margin)


class _Neighbours(NamedTuple):
    """The neighbours the penalties measure to, searched every NEIGHBOUR_REFRESH steps."""

    clean: torch.Tensor  # [B, N, 1]: each adversarial point's nearest clean point
    own: torch.Tensor  # [B, N, k]: each adversarial point's k nearest other adversarial points

    @classmethod
    def search(cls, xyz: torch.Tensor, clean: torch.Tensor, config: KNNConfig) -> _Neighbours:
        from bench.adversarial.distances import nearest_index, own_neighbours

        return cls(nearest_index(xyz, clean), own_neighbours(xyz, config.knn_k))


def _judge(
    adversarial: torch.Tensor,
    logits: torch.Tensor,
    clean: torch.Tensor,
    classes: torch.Tensor,
    config: KNNConfig,
    neighbours: _Neighbours,
) -> tuple[Iterate, torch.Tensor, torch.Tensor]:
    """One iterate as judged, the objective Adam minimises (differentiable) and the floored
    margin. Successes rank by Chamfer sum among those at the margin floor, then by margin;
    failures by the objective, negated. The penalties measure to `neighbours`."""
    import torch

    from bench.adversarial.distances import knn_outlier_penalty, nearest_squared
    from bench.adversarial.losses import cross_entropy, fooled, margin
    from bench.adversarial.skeleton import Iterate

    xyz = adversarial[..., :3]
    chamfer = nearest_squared(xyz, clean[..., :3], index=neighbours.clean).sum(dim=1)
    knn = knn_outlier_penalty(xyz, config.knn_k, config.knn_alpha, index=neighbours.own)
    floored = margin(logits, classes, config.targeted, config.kappa)
    objective = floored + config.chamfer_weight * chamfer + config.knn_weight * knn
    floored, chamfer = floored.detach(), chamfer.detach()
    at_floor = floored <= -config.kappa * (1 - 1e-6)  # a mean over draws, rounded
    rank = torch.where(at_floor, chamfer.double(), SHORT_OF_KAPPA + floored.double())
    current = Iterate(
        points=adversarial.detach(),
        loss=cross_entropy(logits.detach(), classes),
        score=-objective.detach(),
        success=fooled(logits.detach(), classes, config.targeted),
        penalty=rank,
    )
    return current, objective, floored
