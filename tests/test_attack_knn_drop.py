"""The kNN attack and the saliency point drop on the toy victim."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from attacks.knn import KNNAttack, KNNConfig
from attacks.point_drop import PointDrop, PointDropConfig, _thinning
from bench.adversarial.distances import chamfer_squared, knn_outlier_penalty, nearest_squared
from bench.adversarial.losses import margin
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import AttackOutput
from bench.evaluation.threat import check_threat_model
from bench.testing.toys import ToyVictim, toy_clouds

# The toy victim shrugs off the paper's 0.1 per-point budget; 0.3 and a larger Adam step fool it
# in a few dozen steps.
STRONG = {"eps": 0.3, "lr": 1e-2}


pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def victim() -> ToyVictim:
    return ToyVictim(seed=0)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_clouds(16, 128, seed=5)


def knn(
    victim: ToyVictim, clouds: torch.Tensor, labels: torch.Tensor, **config: Any
) -> AttackOutput:
    return KNNAttack(KNNConfig(**config)).run(victim, clouds, labels, torch.Generator())


def drop(
    victim: ToyVictim, clouds: torch.Tensor, labels: torch.Tensor, **config: Any
) -> AttackOutput:
    return PointDrop(PointDropConfig(**config)).run(victim, clouds, labels, torch.Generator())


def correct(victim: ToyVictim, points: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return victim(points).argmax(dim=1) == labels


def test_knn_keeps_every_point_within_eps_and_uses_the_budget(victim, batch) -> None:
    points, labels = batch
    attack = KNNAttack(KNNConfig(eps=0.05, steps=30, lr=1e-2))
    out = attack.run(victim, points, labels, torch.Generator())
    check_threat_model(attack.threat_model(), points, out.points)
    moved = (out.points - points).norm(dim=-1)
    assert moved.max().item() <= 0.05 * (1 + 1e-5)
    assert moved.max().item() >= 0.05 * 0.999  # the ball binds: the clip is what holds points in
    assert out.gradient_queries == 30


def test_knn_fools_most_toy_clouds_and_reports_its_terms(victim, batch) -> None:
    points, labels = batch
    out = knn(victim, points, labels, steps=60, **STRONG)
    assert correct(victim, points, labels).all()
    fooled = ~correct(victim, out.points, labels)
    assert fooled.float().mean().item() >= 0.75
    assert torch.equal(fooled, out.stats["success_step"] > 0)
    assert (out.stats["loss_final"] > out.stats["loss_start"]).all()
    xyz, clean = out.points[..., :3], points[..., :3]
    chamfer = nearest_squared(xyz, clean).sum(dim=1)
    torch.testing.assert_close(out.stats["chamfer_sum"], chamfer)
    # Tsai's sum is the IF-Defense port's mean times N.
    torch.testing.assert_close(out.stats["chamfer_sum"], chamfer_squared(xyz, clean) * 128)
    torch.testing.assert_close(out.stats["knn_penalty"], knn_outlier_penalty(xyz, 5, 1.05))


def test_knn_penalties_keep_the_cloud_smoother_than_the_margin_alone(victim, batch) -> None:
    points, labels = batch
    penalised = knn(victim, points, labels, steps=60, **STRONG)
    bare = knn(victim, points, labels, steps=60, chamfer_weight=0.0, knn_weight=0.0, **STRONG)
    assert penalised.stats["knn_penalty"].mean() < 0.8 * bare.stats["knn_penalty"].mean()
    assert penalised.stats["chamfer_sum"].mean() < bare.stats["chamfer_sum"].mean()


def test_knn_more_steps_never_make_a_sample_worse(victim, batch) -> None:
    points, labels = batch
    short = knn(victim, points, labels, steps=15, **STRONG)
    long = knn(victim, points, labels, steps=45, **STRONG)
    short_ok, long_ok = short.stats["success_step"] >= 0, long.stats["success_step"] >= 0
    assert (long_ok >= short_ok).all() and long_ok.sum() > short_ok.sum()
    both = short_ok & long_ok
    # Better means: at the margin floor, then smaller Chamfer; short of it, a lower margin.
    short_at, long_at = at_kappa(short), at_kappa(long)
    assert (long_at >= short_at)[both].all()
    floor = both & short_at
    assert (long.stats["chamfer_sum"][floor] <= short.stats["chamfer_sum"][floor]).all()
    neither = both & ~long_at
    assert (long.stats["margin_final"][neither] <= short.stats["margin_final"][neither]).all()
    assert torch.equal(long.stats["success_step"][short_ok], short.stats["success_step"][short_ok])


def at_kappa(out: AttackOutput, kappa: float = 15.0) -> torch.Tensor:
    return out.stats["margin_final"] <= -kappa * (1 - 1e-6)


def test_knn_returns_successes_that_reach_the_margin_kappa(victim, batch) -> None:
    points, labels = batch
    out = knn(victim, points, labels, steps=60, **STRONG)
    with torch.no_grad():
        floored = margin(victim(out.points).unsqueeze(0), labels, False, 15.0)
    torch.testing.assert_close(out.stats["margin_final"], floored)
    fooled = out.stats["success_step"] > 0
    assert at_kappa(out)[fooled].float().mean().item() >= 0.75  # not barely across the boundary


def test_knn_targeted_lands_on_its_targets(victim, batch) -> None:
    points, labels = batch
    out = KNNAttack(KNNConfig(steps=60, targeted=True, **STRONG)).run(
        victim, points, labels, torch.Generator().manual_seed(3)
    )
    target = out.stats["target"]
    assert (target != labels).all()
    with torch.no_grad():
        hit = victim(out.points).argmax(dim=1) == target
    assert hit.float().mean().item() >= 0.5
    assert torch.equal(hit, out.stats["success_step"] >= 0)


def test_knn_zero_budget_returns_the_clean_clouds_and_keeps_rgb(victim) -> None:
    points, labels = toy_clouds(4, 64, seed=2, channels=6)
    for config in ({"eps": 0.0}, {"steps": 0}):
        out = knn(victim, points, labels, **config)
        assert torch.equal(out.points, points) and out.gradient_queries == 0
        assert (out.stats["chamfer_sum"] == 0).all()
    out = knn(victim, points, labels, steps=5)
    assert torch.equal(out.points[..., 3:], points[..., 3:])


@pytest.mark.parametrize("bad", [{"eps": -0.1}, {"lr": 0.0}, {"knn_k": 0}, {"steps": -1}])
def test_knn_invalid_config_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError):
        KNNConfig(**bad)


def test_point_drop_removes_exactly_its_points_keeping_clean_ones_in_order(victim) -> None:
    points, labels = toy_clouds(8, 128, seed=4, channels=6)
    attack = PointDrop(PointDropConfig(points=30, per_round=8))  # 4 rounds: 8, 8, 8, 6
    out = attack.run(victim, points, labels, torch.Generator())
    assert out.points.shape == (8, 98, 6) and out.gradient_queries == 4
    check_threat_model(attack.threat_model(), points, out.points)
    same = (out.points.unsqueeze(2) == points.unsqueeze(1)).all(dim=-1)  # [B, kept, N]
    assert (same.sum(dim=-1) == 1).all()  # each survivor is exactly one clean point, rgb included
    index = same.float().argmax(dim=-1)
    assert (index.diff(dim=1) > 0).all()  # distinct and in their original order


def test_point_drop_beats_random_dropping(victim) -> None:
    points, labels = toy_clouds(32, 128, seed=5)
    out = drop(victim, points, labels, points=64, per_round=8)
    order = torch.rand(32, 128, generator=torch.Generator().manual_seed(0)).argsort(dim=1)
    kept = order[:, 64:].sort(dim=1).values
    random = points.gather(1, kept.unsqueeze(-1).expand(-1, -1, 3))
    salient_accuracy = correct(victim, out.points, labels).float().mean().item()
    random_accuracy = correct(victim, random, labels).float().mean().item()
    assert salient_accuracy <= random_accuracy - 0.4
    fooled = ~correct(victim, out.points, labels)
    assert (out.stats["success_round"][fooled] > 0).all()
    # The confident toy victim's clean loss rounds to 0 in float32; the drops raise it.
    assert (out.stats["loss_final"] >= out.stats["loss_start"]).all()
    assert out.stats["loss_final"].mean() > 1.0


def test_point_drop_refuses_to_drop_the_whole_cloud(victim) -> None:
    points, labels = toy_clouds(2, 32, seed=1)
    with pytest.raises(ConfigError, match="cannot drop 32 points from clouds of 32"):
        drop(victim, points, labels, points=32)
    assert drop(victim, points, labels, points=31, per_round=31).points.shape == (2, 1, 3)


@pytest.mark.parametrize("bad", [{"points": 0}, {"per_round": 0}, {"alpha": -1.0}])
def test_point_drop_invalid_config_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError):
        PointDropConfig(**bad)


def test_point_drop_thinning_removes_the_point_nearest_another_first() -> None:
    xyz = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [1.001, 0, 0], [0, 1, 0], [0, 0.5, 0]]])
    picked = _thinning(xyz, 2)
    # The closest pair is 1 and 2: the lower index goes; then 3 and 4 are nearest (0.5 apart,
    # as are 0 and 4): the lower index of the first such pair, 0.
    assert picked.tolist() == [[1.0, 1.0, 0.0, 0.0, 0.0]]


def test_point_drop_spends_the_budget_after_a_success_on_thinning(victim) -> None:
    points, labels = toy_clouds(32, 128, seed=5)
    out = drop(victim, points, labels, points=64, per_round=4)
    first = out.stats["success_round"]
    still = ~correct(victim, out.points, labels)
    kept = (first > 0) & still
    assert kept.sum() >= 20
    # The drops after a sample's first success were thinning, but for rounds where thinning
    # had un-fooled it (one sample of 24 when written).
    after = 64 - 4 * first[kept]
    thinned = out.stats["thinned"][kept]
    assert (thinned <= after).all() and (thinned == after).sum() >= len(after) - 2
    assert (out.stats["thinned"][first < 0] == 0).all()
