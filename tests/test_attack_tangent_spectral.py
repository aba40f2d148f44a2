"""SI-Adv's tangent-plane steps and AOF's low-frequency objective, on the toy victim."""

from __future__ import annotations

import math

import pytest
import torch

from attacks.aof import AOF, AOFConfig
from attacks.si_adv import SIAdv, SIAdvConfig
from bench.adversarial.surface import low_frequency_basis, normals
from bench.testing.toys import ToyVictim, toy_clouds

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def victim() -> ToyVictim:
    return ToyVictim(seed=0)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_clouds(16, 128, seed=5)


def test_normals_of_a_plane_and_a_sphere() -> None:
    generator = torch.Generator().manual_seed(0)
    plane = torch.rand(1, 200, 3, generator=generator)
    plane[..., 2] = 0.3 * plane[..., 0] - 0.2 * plane[..., 1]
    expected = torch.tensor([0.3, -0.2, -1.0]) / math.sqrt(0.09 + 0.04 + 1)
    assert torch.allclose(normals(plane, 10)[0].abs(), expected.abs().expand(200, 3), atol=1e-5)
    sphere = torch.randn(1, 2000, 3, generator=generator)
    sphere = sphere / sphere.norm(dim=-1, keepdim=True)
    alignment = (normals(sphere, 10) * sphere).sum(dim=-1).abs()
    assert alignment.min() > 0.98


def test_low_frequency_basis_is_orthonormal_and_starts_constant(batch) -> None:
    points = batch[0][:2]
    basis = low_frequency_basis(points, 10, 128)
    identity = basis.transpose(1, 2) @ basis
    assert torch.allclose(identity, torch.eye(128).expand(2, -1, -1), atol=1e-4)
    constant = basis[..., 0].abs()  # the Laplacian's null space: a constant over the cloud
    assert torch.allclose(constant, torch.full_like(constant, 128**-0.5), atol=1e-4)
    full = basis @ (basis.transpose(1, 2) @ points)
    assert torch.allclose(full, points, atol=1e-4)


def test_si_adv_moves_points_within_their_tangent_planes(victim, batch) -> None:
    points, labels = batch
    config = SIAdvConfig(eps=10.0, steps=1, step_size=0.01)
    output = SIAdv(config).run(victim, points, labels, torch.Generator().manual_seed(0))
    moved = (output.points - points).norm(dim=-1).amax(dim=1) > 0
    assert moved.sum() >= len(points) // 2, "one step raises most samples' loss"
    displacement = (output.points - points)[moved]
    along_normal = (displacement * normals(points[moved], config.normal_k)).sum(dim=-1).abs()
    assert along_normal.max() < 1e-5 * displacement.norm(dim=-1).max()


def test_si_adv_breaks_the_toy_victim_at_a_large_budget(victim, batch) -> None:
    points, labels = batch
    config = SIAdvConfig(eps=0.5, steps=50, step_size=0.05)
    output = SIAdv(config).run(victim, points, labels, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (victim(output.points).argmax(dim=1) == labels).sum() == 0
    assert (output.points - points).abs().max() <= 0.5 + 1e-6


def test_aof_success_fools_the_cloud_and_its_low_frequency_part(victim, batch) -> None:
    points, labels = batch
    config = AOFConfig(norm="linf", eps=0.2, steps=100, lr=0.02, low_pass=16, graph_k=10)
    output = AOF(config).run(victim, points, labels, torch.Generator().manual_seed(0))
    succeeded = output.stats["success_step"] > 0
    assert succeeded.sum() >= len(points) // 2
    adversarial = output.points[succeeded]
    basis = low_frequency_basis(points[succeeded], config.graph_k, config.low_pass)
    low = basis @ (basis.transpose(1, 2) @ adversarial)
    with torch.no_grad():
        assert (victim(adversarial).argmax(dim=1) != labels[succeeded]).all()
        assert (victim(low).argmax(dim=1) != labels[succeeded]).all()
