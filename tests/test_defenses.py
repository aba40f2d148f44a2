"""SRS and SOR: what they remove, how they pad, how attacks see them (EOT draws, BPDA)."""

from __future__ import annotations

import pytest
import torch

from bench.contracts.errors import ConfigError
from bench.contracts.randomness import SampleStreams
from bench.defenses.sor import SOR, SORConfig
from bench.defenses.srs import SRS, SRSConfig
from bench.testing.toys import ToyVictim, toy_clouds

pytestmark = pytest.mark.usefixtures("single_thread")


def line_with_outlier() -> torch.Tensor:
    """Ten evenly spaced points on the x axis and one far above the fourth: [1, 11, 3]."""
    xs = torch.arange(10, dtype=torch.float32) / 10
    points = torch.stack([xs, torch.zeros(10), torch.zeros(10)], dim=-1)
    outlier = torch.tensor([[0.3, 5.0, 0.0]])
    return torch.cat([points[:4], outlier, points[4:]]).unsqueeze(0)


@pytest.mark.parametrize("distance", ["squared", "euclidean"])
def test_sor_replaces_the_outlier_by_its_nearest_kept_point(distance: str) -> None:
    cloud = line_with_outlier()
    out = SOR(SORConfig(k=2, alpha=1.1, distance=distance)).apply(cloud, None)
    expected = cloud.clone()
    expected[0, 4] = cloud[0, 3]  # (0.3, 0, 0) is the kept point nearest to (0.3, 5, 0)
    assert torch.equal(out, expected)


def test_sor_cycle_padding_fills_removed_slots_with_kept_points_in_order() -> None:
    cloud = line_with_outlier()
    out = SOR(SORConfig(padding="cycle")).apply(cloud, None)
    expected = cloud.clone()
    expected[0, 4] = cloud[0, 0]  # the first removed slot takes the first kept point
    assert torch.equal(out, expected)


def test_sor_keeps_a_uniform_cloud_and_refuses_k_beyond_the_cloud() -> None:
    grid = torch.stack(torch.meshgrid(*[torch.arange(4.0)] * 3, indexing="ij"), -1).view(1, -1, 3)
    assert torch.equal(SOR().apply(grid, None), grid)  # every point has the same neighbours
    with pytest.raises(ConfigError, match="more than 64 points"):
        SOR(SORConfig(k=64)).apply(grid, None)
    with pytest.raises(ConfigError, match="sor.padding"):
        SORConfig(padding="zeros")


def test_bpda_gives_the_identity_gradient_and_no_bpda_gives_none() -> None:
    points, labels = toy_clouds(4, 128, seed=3)
    plain = ToyVictim(seed=0)
    defended = ToyVictim(seed=0, defense=SOR())
    naive = ToyVictim(seed=0, defense=SOR(SORConfig(bpda=False)))
    filtered = SOR().apply(points, None)

    def gradient(victim: ToyVictim, at: torch.Tensor) -> torch.Tensor:
        x = at.clone().requires_grad_(True)
        torch.nn.functional.cross_entropy(victim(x), labels).backward()
        assert x.grad is not None
        return x.grad

    torch.testing.assert_close(defended(points), plain(filtered))
    # Straight-through: the gradient at each slot is the bare victim's at the filtered cloud.
    torch.testing.assert_close(gradient(defended, points), gradient(plain, filtered))
    assert torch.equal(gradient(naive, points), torch.zeros_like(points))


def test_srs_drops_exactly_its_count_keeping_clean_points_in_order() -> None:
    points, _ = toy_clouds(3, 200, seed=4)
    out = SRS(SRSConfig(drop=150)).apply(points, torch.Generator().manual_seed(0))
    assert out.shape == (3, 50, 3)
    for cloud, kept in zip(points, out, strict=True):
        index = [int((cloud == p).all(dim=-1).nonzero()) for p in kept]
        assert index == sorted(index) and len(set(index)) == 50
    with pytest.raises(ConfigError, match="would leave no points"):
        SRS(SRSConfig(drop=200)).apply(points, None)


def test_a_randomized_defense_makes_the_victim_stochastic_with_a_fresh_subset_per_draw() -> None:
    points, _ = toy_clouds(2, 128, seed=5)
    victim = ToyVictim(seed=0, defense=SRS(SRSConfig(drop=100)))
    assert victim.stochastic and not ToyVictim(seed=0, defense=SOR()).stochastic
    victim.bind(SampleStreams.for_samples(0, ["a", "b"], "victim"))
    draws = victim.sample(points, 4)
    assert draws.shape == (4, 2, 5)
    assert len({tuple(d.flatten().tolist()) for d in draws}) == 4  # four different subsets
    # The same streams give the same draws; the other sample's draws do not matter.
    victim.bind(SampleStreams.for_samples(0, ["b"], "victim"))
    torch.testing.assert_close(victim.sample(points[1:], 4)[:, 0], draws[:, 1])
