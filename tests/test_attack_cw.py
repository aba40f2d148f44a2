"""The C&W perturbation attack and independent point addition (Xiang et al.) on the toy victim."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from attacks.cw import CW, CWConfig
from attacks.pgd import PGD, PGDConfig
from attacks.point_add import PointAdd, PointAddConfig
from bench.adversarial.balls import compose
from bench.adversarial.distances import chamfer_squared, nearest_squared
from bench.adversarial.losses import cross_entropy_direction
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import AttackOutput
from bench.evaluation.threat import check_threat_model
from bench.testing.toys import ToyVictim, toy_clouds

COUNT = 96  # points per toy cloud


pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def victim() -> ToyVictim:
    return ToyVictim(seed=0)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_clouds(12, COUNT, seed=5)


def cw(
    victim: ToyVictim, points: torch.Tensor, labels: torch.Tensor, **config: Any
) -> AttackOutput:
    return CW(CWConfig(**config)).run(victim, points, labels, torch.Generator().manual_seed(0))


def add(
    victim: ToyVictim, clouds: torch.Tensor, labels: torch.Tensor, **config: Any
) -> AttackOutput:
    """Point addition (`config` may set its `points`), checked against its threat model."""
    attack = PointAdd(PointAddConfig(**config))
    out = attack.run(victim, clouds, labels, torch.Generator().manual_seed(0))
    check_threat_model(attack.threat_model(), clouds, out.points)
    return out


def predict(victim: ToyVictim, points: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return victim(points).argmax(dim=1)


def l2(points: torch.Tensor, adversarial: torch.Tensor) -> torch.Tensor:
    return (adversarial - points).flatten(1).norm(dim=1)


@pytest.fixture(scope="module")
def untargeted(victim, batch) -> AttackOutput:
    points, labels = batch
    return cw(victim, points, labels)


def test_cw_fools_with_far_less_l2_than_pgd(victim, batch, untargeted) -> None:
    points, labels = batch
    correct = predict(victim, points) == labels
    assert correct.float().mean() >= 0.9
    fooled = predict(victim, untargeted.points) != labels
    assert fooled[correct].float().mean() >= 0.9
    assert torch.equal(untargeted.stats["success"], fooled)  # judged as the victim votes
    pgd = PGD(PGDConfig(norm="l2", eps=2.0, steps=20))
    baseline = pgd.run(victim, points, labels, torch.Generator().manual_seed(0)).points
    pgd_fooled = predict(victim, baseline) != labels
    assert pgd_fooled[correct].float().mean() >= 0.9
    both = correct & fooled & pgd_fooled
    assert l2(points, untargeted.points)[both].mean() < 0.5 * l2(points, baseline)[both].mean()
    assert untargeted.gradient_queries == 3 * 30
    assert untargeted.stats["loss_final"].mean() > untargeted.stats["loss_start"].mean()


def test_more_binary_steps_never_give_a_larger_minimal_l2(victim, batch) -> None:
    """The first two binary steps of a four-step run are the two-step run (same generator)."""
    points, labels = batch
    short = cw(victim, points, labels, binary_steps=2, steps=20)
    long = cw(victim, points, labels, binary_steps=4, steps=20)
    assert (long.stats["success"] | ~short.stats["success"]).all()
    kept = short.stats["success"]
    shorter, longer = l2(points, short.points)[kept], l2(points, long.points)[kept]
    assert (longer <= shorter).all() and (longer < shorter).any()


def test_cw_targeted_reaches_its_targets(victim, batch) -> None:
    points, labels = batch
    out = cw(victim, points, labels, targeted=True, binary_steps=5, steps=50)
    target = out.stats["target"]
    assert (target != labels).all()
    hit = predict(victim, out.points) == target
    assert hit.float().mean() >= 0.8 and torch.equal(out.stats["success"], hit)
    assert out.stats["loss_final"].mean() < out.stats["loss_start"].mean()


def test_cw_zero_steps_and_misclassified_samples_return_the_clean_clouds(victim, batch) -> None:
    points, labels = batch
    out = cw(victim, points, labels, steps=0)
    assert torch.equal(out.points, points) and out.gradient_queries == 0
    wrong = labels.clone()
    wrong[:3] = (labels[:3] + 1) % 5  # the victim already "fools" these three
    out = cw(victim, points, wrong, binary_steps=1, steps=5)
    assert torch.equal(out.points[:3], points[:3]) and out.stats["success"][:3].all()
    assert not torch.equal(out.points[3:], points[3:])


def test_cw_moves_xyz_only(victim) -> None:
    points, labels = toy_clouds(4, 64, seed=6, channels=6)
    attack = CW(CWConfig(binary_steps=1, steps=10))
    out = attack.run(victim, points, labels, torch.Generator().manual_seed(0))
    check_threat_model(attack.threat_model(), points, out.points)
    assert torch.equal(out.points[..., 3:], points[..., 3:])
    assert not torch.equal(out.points[..., :3], points[..., :3])


@pytest.fixture(scope="module")
def coloured() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_clouds(12, COUNT, seed=7, channels=6)


def test_point_add_appends_points_and_fools_many(victim, coloured) -> None:
    points, labels = coloured
    out = add(victim, points, labels, points=64, binary_steps=5)  # the toy needs a lower lambda
    assert out.points.shape == (12, COUNT + 64, 6)
    assert torch.equal(out.points[:, :COUNT], points)
    added = out.points[:, COUNT:]
    # Every added point carries the colour of a clean point (the one it started from).
    same = (added[:, :, None, 3:] == points[:, None, :, 3:]).all(dim=-1)
    assert same.any(dim=-1).all()
    fooled = predict(victim, out.points) != labels
    assert fooled.float().mean() >= 0.75 and torch.equal(out.stats["success"], fooled)
    penalty = chamfer_squared(added[..., :3], points[..., :3])
    assert torch.allclose(out.stats["distance_penalty"], penalty, rtol=1e-5, atol=0)
    assert out.gradient_queries == 1 + 5 * 50


def test_point_add_hausdorff_penalty_is_reported(victim, batch) -> None:
    points, labels = batch
    out = add(victim, points, labels, points=32, distance="hausdorff", binary_steps=2, steps=20)
    penalty = nearest_squared(out.points[:, COUNT:], points).amax(dim=1)
    assert torch.allclose(out.stats["distance_penalty"], penalty, rtol=1e-5, atol=0)
    assert (out.stats["lambda_final"] <= 9e2).all()


def test_point_add_starts_at_the_largest_gradient_points(victim, batch) -> None:
    """With steps=0 the returned points are the start: the critical points, cyclically reused."""
    points, labels = batch
    count = COUNT + COUNT // 2
    out = add(victim, points, labels, points=count, steps=0, binary_steps=1)
    added = out.points[:, COUNT:]
    delta = torch.zeros_like(points, requires_grad=True)
    logits = victim.sample(compose(points, delta), 1)
    direction = cross_entropy_direction(logits.detach(), labels, False)
    (gradient,) = torch.autograd.grad(logits, delta, grad_outputs=direction)
    order = gradient.square().sum(dim=-1).sort(dim=1, descending=True, stable=True).indices
    expected = points.gather(1, order[..., None].expand(-1, -1, 3))
    cyclic = torch.cat([expected, expected[:, : count - COUNT]], dim=1)
    assert torch.allclose(added, cyclic, atol=1e-5)
    assert not torch.equal(added[:, : count - COUNT], added[:, COUNT:])  # noise separates copies


def test_cluster_addition_starts_compact_separated_clusters_and_reports_its_distance(
    victim, batch
) -> None:
    points, labels = batch
    start = add(victim, points, labels, points=24, distance="cluster", clusters=3, steps=0)
    groups = start.points[:, COUNT:].view(12, 3, 8, 3)
    # Each cluster starts at the 8 clean points nearest one of them, its centre; the centres
    # are at least 0.2 apart (the toy clouds are large enough for that).
    for cloud, clusters in zip(points, groups, strict=True):
        centres = []
        for members in clusters:
            for member in members:
                nearest = cloud[torch.cdist(member[None], cloud)[0].topk(8, largest=False).indices]
                if torch.allclose(
                    nearest.sort(dim=0).values, members.sort(dim=0).values, atol=1e-5
                ):
                    centres.append(member)
                    break
        assert len(centres) == 3
        assert torch.pdist(torch.stack(centres)).min() >= 0.2 - 1e-5
    out = add(victim, points, labels, points=24, distance="cluster", clusters=3, binary_steps=2)
    added = out.points[:, COUNT:]
    groups = added.reshape(12 * 3, 8, 3)
    pairs = torch.cdist(groups, groups)
    farthest = pairs.flatten(1).amax(dim=1).view(12, 3).sum(dim=1)
    penalty = farthest + 0.1 * chamfer_squared(added, points)
    assert torch.allclose(out.stats["distance_penalty"], penalty, rtol=1e-4, atol=1e-6)
    assert (predict(victim, out.points) != labels).any()
    threat = PointAdd(PointAddConfig(points=24, distance="cluster")).threat_model()
    assert threat.penalised == ("farthest_in_cluster", "chamfer") and threat.points_added == 24


def test_attacks_work_under_no_grad(victim, batch) -> None:
    points, labels = batch
    with torch.no_grad():
        moved = cw(victim, points, labels, binary_steps=1, steps=10)
        added = add(victim, points, labels, points=16, binary_steps=1, steps=10)
    assert moved.stats["loss_final"].mean() > moved.stats["loss_start"].mean()
    assert added.stats["loss_final"].mean() > added.stats["loss_start"].mean()


@pytest.mark.parametrize(
    "bad",
    [
        {"binary_steps": 0},
        {"steps": -1},
        {"lr": 0.0},
        {"kappa": -1.0},
        {"initial_lambda": 100.0},  # above max_lambda
        {"max_lambda": float("inf")},
        {"eot_draws": -1},
    ],
)
def test_invalid_cw_config_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError):
        CWConfig(**bad)


@pytest.mark.parametrize(
    "bad",
    [
        {"points": 0},
        {"distance": "l2"},
        {"initial_lambda": 1e3, "distance": "hausdorff"},  # above Xiang's Hausdorff bound
        {"max_lambda": -1.0},
        {"binary_steps": 0},
        {"distance": "cluster", "points": 64, "clusters": 5},  # unequal clusters
        {"distance": "cluster", "clusters": 0},
    ],
)
def test_invalid_point_add_config_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError):
        PointAddConfig(**bad)


def test_presets_and_default_lambdas() -> None:
    paper = CW.presets["paper"]
    assert (paper.binary_steps, paper.steps, paper.initial_lambda, paper.max_lambda) == (
        10,
        500,
        10.0,
        80.0,
    )
    add_paper = PointAdd.presets["paper"]
    assert (add_paper.points, add_paper.binary_steps, add_paper.steps) == (512, 10, 500)
    assert add_paper.distance == "chamfer" and add_paper.lambdas() == (5e3, 4e4)
    assert PointAddConfig(distance="hausdorff").lambdas() == (2e2, 9e2)
    cluster = PointAdd.presets["paper_cluster"]
    assert (cluster.points, cluster.clusters, cluster.binary_steps, cluster.steps) == (
        96,
        3,
        5,
        500,
    )
    assert cluster.lambdas() == (5.0, 30.0)
    threat = PointAdd(PointAddConfig(points=8, distance="hausdorff")).threat_model()
    assert (threat.norm, threat.points_added, threat.penalised) == ("none", 8, ("hausdorff",))
