"""Xiang et al.'s independent point addition: optimise new points appended to the clean cloud."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from attacks.cw import INIT_SCALE, LAMBDA, SEARCH_RULES, Schedule, penalised_search
from bench.contracts.bounds import POINTS, Rules, divides, integer, one_of, optional, require
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel

if TYPE_CHECKING:
    import torch

    from bench.adversarial.skeleton import Opening
    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim

# Xiang's lambda (initial value, upper bound) for each distance the added points pay.
LAMBDAS = {"chamfer": (5e3, 4e4), "hausdorff": (2e2, 9e2), "cluster": (5.0, 30.0)}
CLUSTER_CHAMFER_WEIGHT = 0.1  # Xiang's weight of the Chamfer term of the cluster distance
CLUSTER_SEPARATION = 0.2  # least distance between two cluster centres (Xiang's DBSCAN eps)
CANDIDATES = 128  # the most critical points cluster centres are chosen from (Xiang's count)


@dataclass(frozen=True)
class PointAddConfig:
    """Point-addition settings; `initial_lambda` / `max_lambda` None take Xiang's for `distance`.

    `clusters` is the number of equal clusters the points form when `distance` is "cluster".

    `eot_draws` is how many noise draws of a stochastic victim each iteration averages (EOT);
    0 means automatic (1 against a deterministic victim).
    """

    points: int = 64
    distance: str = "chamfer"
    clusters: int = 3
    kappa: float = 0.0
    lr: float = 0.01
    binary_steps: int = 3
    steps: int = 50
    initial_lambda: float | None = None
    max_lambda: float | None = None
    targeted: bool = False
    eot_draws: int = 0

    def __post_init__(self) -> None:
        rules: Rules = {
            "points": POINTS,
            "distance": one_of(*LAMBDAS),
            "clusters": integer(1, 1_024),
            **SEARCH_RULES,
            "initial_lambda": optional(LAMBDA),
            "max_lambda": optional(LAMBDA),
        }
        require(self, "point_add", rules)
        if self.distance == "cluster":  # the points split into equal clusters
            require(self, "point_add", {"clusters": divides("points")})
        initial, maximum = self.lambdas()
        if initial > maximum:
            raise ConfigError(
                f"point_add.initial_lambda must be at most max_lambda ({maximum:g}), not"
                f" {initial:g}."
            )

    def lambdas(self) -> tuple[float, float]:
        """The lambda the search starts from and its upper bound."""
        initial, maximum = LAMBDAS[self.distance]
        return (
            initial if self.initial_lambda is None else self.initial_lambda,
            maximum if self.max_lambda is None else self.max_lambda,
        )


@ATTACKS.register("point_add")
class PointAdd(Attack[PointAddConfig]):
    """Xiang et al.'s point addition: `points` new points, independent or in clusters.

    The original cloud is kept bit for bit and `points` points are appended after it; only the
    added points' xyz is optimised, minimising `margin(logits, class, targeted, kappa)` (mean
    over EOT draws) + lambda * D(added, clean), by Adam (lr 0.01) with the binary search over
    lambda of `attacks.cw` (any success in a binary step raises lambda's lower bound, else its
    upper bound falls; a larger lambda asks for added points closer to the surface). D is
    `distance`: "chamfer", the one-sided squared Chamfer distance (the mean over added points
    of the squared distance to the nearest clean point: IF-Defense's adv2ori), lambda from
    5e3 within [0, 4e4]; or "hausdorff", the largest of those squared distances, lambda from
    2e2 within [0, 9e2] (Xiang's values, `xiangchong1/3d-adv-pc` independent.py).

    Initialisation at "critical points", at every binary step: the clean points with the
    largest input-gradient magnitude of the cross-entropy toward the label (untargeted) or the
    target (targeted), as in the IF-Defense port (`Wuziyi616/IF-Defense` baselines/attack/CW/
    Add.py), plus Gaussian noise of std 1e-7 drawn from the generator. Xiang's TF code takes
    the points that win PointNet's max-pool instead, which a generic victim does not expose.
    The gradient is taken in closed form from the logits (`cross_entropy_direction`), exact up
    to a positive per-sample factor that leaves the ranking alone, so a confident victim cannot
    underflow it to zero; ties rank by point index. With more added points than clean ones the
    ranking is reused cyclically (the noise then separates the copies). Each added point keeps
    the further channels (rgb) of the point it started from; they are never optimised.

    Cluster addition (`distance="cluster"`, Xiang's adversarial clusters): the points form
    `clusters` equal groups (Xiang: 3 of 32), and D is the sum over clusters of the largest
    distance between two of its points, plus 0.1 times the one-sided squared Chamfer distance
    of all added points (IF-Defense's `FarChamferDist`), lambda from 5 within [0, 30]. Each
    cluster starts at the clean points nearest a centre. Xiang and the IF-Defense port
    (`Add_Cluster.py`) find the centres by DBSCAN (eps 0.2, 3 samples) over the 128 most
    critical points and sample each cluster's start from its DBSCAN group at random; here
    (no clustering library, no unseeded sampling) the centres are chosen greedily among those
    128 points, most critical first, each at least 0.2 from the centres before it (if too few
    are, the most critical of the rest), and each cluster starts at the points // clusters
    clean points nearest its centre.

    A sample fooled as it is gets its starting points (the critical points, or the cluster
    starts) duplicated (distance 0 for independent points) and is not searched.
    Returned cloud, per sample: the successful addition of smallest D over every iteration of
    every binary step; a sample never fooled returns its lowest-margin addition (the IF-Defense
    port returns the last iterate). A victim whose preprocessing subsamples clouds larger than
    its input size (farthest point sampling) may drop some added points: that is part of the
    victim, and the optimisation sees it through the gradient.

    Threat model: no original point moves; `points` are added; D is penalised, not bounded.
    Untargeted by default; `targeted` attacks a random other class per sample (Xiang's protocol
    is targeted). Configs: the default is a quick run, 64 points, 3 binary steps x 50
    iterations, Chamfer; the preset `paper` has Xiang's 512 points, 10 x 500, Chamfer, kept
    untargeted like the default; `paper_cluster` has Xiang's 3 clusters of 32 points, 5 x 500.
    `gradient_queries` is 1 (the critical points) +
    binary_steps * steps, times the draws; each binary step adds one forward pass.

    Stats per sample: `loss_start` and `loss_final`, the cross-entropy toward the label
    (untargeted) or `target` (targeted) at the clean input and at the returned cloud (mean over
    draws, as judged); `success`, whether the returned cloud was judged a success;
    `lambda_final`, the lambda of the binary step that produced it; `distance_penalty`, its D.
    """

    Config = PointAddConfig
    version = 2
    info = PluginInfo(
        display="Point add",
        description="Point addition (Xiang et al.): independent points or clusters, penalised.",
        cite="Xiang et al., Generating 3D Adversarial Point Clouds, CVPR 2019",
    )
    presets: ClassVar[Mapping[str, PointAddConfig]] = {
        "paper": PointAddConfig(points=512, binary_steps=10, steps=500),
        "paper_cluster": PointAddConfig(
            points=96, distance="cluster", clusters=3, binary_steps=5, steps=500
        ),
    }
    smoke = PointAddConfig(points=16, binary_steps=2, steps=4)

    def threat_model(self) -> ThreatModel:
        distance = self.config.distance
        penalised = ("farthest_in_cluster", "chamfer") if distance == "cluster" else (distance,)
        return ThreatModel(norm="none", points_added=self.config.points, penalised=penalised)

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        import torch

        from bench.adversarial.distances import (
            chamfer_squared,
            farthest_within_clusters,
            nearest_squared,
        )
        from bench.contracts.randomness import randn

        config = self.config
        start, order = _critical_points(victim, points, labels, config, generator)
        clean = start.clean
        xyz = clean[..., :3]
        if config.distance == "cluster":
            seeds = _cluster_starts(xyz, order, config.points, config.clusters)
        else:
            seeds = order[:, torch.arange(config.points, device=order.device) % order.shape[1]]
        stats = {"loss_start": start.loss}
        if start.target is not None:
            stats["target"] = start.target
        chosen = clean.gather(1, seeds.unsqueeze(-1).expand(-1, -1, clean.shape[-1]))
        # A sample fooled as it is gets its starting points duplicated: at Chamfer distance 0.
        duplicated = clean.new_zeros(len(clean))
        if config.distance == "cluster":
            duplicated = farthest_within_clusters(chosen[..., :3], config.clusters)
        stats.update(
            loss_final=start.loss.clone(),
            success=start.success.clone(),
            lambda_final=clean.new_full((len(clean),), config.lambdas()[0]),
            distance_penalty=duplicated,
        )
        result = torch.cat([clean, chosen], dim=1)
        rows = start.standing()
        if not len(rows):
            return AttackOutput(points=result, gradient_queries=start.draws, stats=stats)
        part, rest, xyz = clean[rows], chosen[rows][..., 3:], clean[rows][..., :3]

        def begin() -> torch.Tensor:
            noise = randn(
                generator, len(clean), config.points, 3, dtype=xyz.dtype, device=xyz.device
            )
            return chosen[rows][..., :3] + INIT_SCALE * noise[rows]

        def build(added: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            cloud = torch.cat([part, torch.cat([added, rest], dim=-1)], dim=1)
            if config.distance == "chamfer":
                return cloud, chamfer_squared(added, xyz)
            if config.distance == "cluster":
                size = farthest_within_clusters(added, config.clusters)
                return cloud, size + CLUSTER_CHAMFER_WEIGHT * chamfer_squared(added, xyz)
            return cloud, nearest_squared(added, xyz).amax(dim=1)

        initial, maximum = config.lambdas()
        schedule = Schedule(
            config.kappa,
            config.lr,
            config.binary_steps,
            config.steps,
            initial,
            maximum,
            config.targeted,
        )
        found, weight = penalised_search(
            victim, schedule, begin, build, start.classes[rows], start.draws, rows
        )
        assert found.penalty is not None  # the search always penalises
        with torch.no_grad():
            result[rows, clean.shape[1] :, :3] = found.points.to(clean.dtype)
        stats["loss_final"][rows] = found.loss.to(start.loss.dtype)
        stats["success"][rows] = found.success
        stats["lambda_final"][rows] = weight.to(clean.dtype)
        stats["distance_penalty"][rows] = found.penalty.to(clean.dtype)
        return AttackOutput(
            points=result,
            gradient_queries=(1 + config.binary_steps * config.steps) * start.draws,
            stats=stats,
        )


def _critical_points(
    victim: Victim,
    points: torch.Tensor,
    labels: torch.Tensor,
    config: PointAddConfig,
    generator: RandomSource,
) -> tuple[Opening, torch.Tensor]:
    """The run's opening and the clean points' indices from the most critical down [B, N].

    One forward+backward pass of the clean clouds gives both: the opening from its logits (a
    random target needs the class count), the ranking from its gradient.
    """
    import torch

    from bench.adversarial.balls import compose
    from bench.adversarial.eot import resolve_draws
    from bench.adversarial.losses import cross_entropy_direction
    from bench.adversarial.skeleton import open_attack

    clean = points.detach()
    with torch.enable_grad():
        delta = torch.zeros_like(clean[..., :3], requires_grad=True)
        logits = victim.sample(compose(clean, delta), resolve_draws(config.eot_draws, victim))
    start = open_attack(
        victim, points, labels, generator, config.eot_draws, config.targeted, logits=logits.detach()
    )
    direction = cross_entropy_direction(start.logits, start.classes, config.targeted)
    (gradient,) = torch.autograd.grad(logits, delta, grad_outputs=direction)
    score = gradient.square().sum(dim=-1)
    return start, score.sort(dim=1, descending=True, stable=True).indices


def _cluster_starts(
    xyz: torch.Tensor, order: torch.Tensor, points: int, clusters: int
) -> torch.Tensor:
    """Indices [B, points] of the clean points the clusters start at (see `PointAdd`)."""
    import torch

    from bench.adversarial.distances import nearest_index

    batch, count = order.shape
    candidates = order[:, torch.arange(max(CANDIDATES, clusters), device=order.device) % count]
    where = xyz.gather(1, candidates.unsqueeze(-1).expand(-1, -1, 3))
    apart = torch.cdist(where, where) >= CLUSTER_SEPARATION
    chosen = torch.zeros_like(candidates, dtype=torch.bool)
    for separated in (True, False):  # then, if the shape is too small, the most critical left
        for j in range(candidates.shape[1]):
            room = chosen.sum(dim=1) < clusters
            if separated:
                room &= (apart[:, j] | ~chosen).all(dim=1)
            chosen[:, j] |= room
    rank = torch.where(chosen, torch.arange(candidates.shape[1], device=order.device), count)
    centres = candidates.gather(1, rank.sort(dim=1).values[:, :clusters])
    size = points // clusters
    near = nearest_index(
        xyz.gather(1, centres.unsqueeze(-1).expand(-1, -1, 3)), xyz, min(size, count)
    )
    cyclic = torch.arange(size, device=order.device) % near.shape[-1]
    return near[..., cyclic].reshape(batch, points)
