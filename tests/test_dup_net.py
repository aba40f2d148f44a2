"""DUP-Net: SOR then a learned upsampler, attacked through BPDA and the upsampler's gradient."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.auxiliary.point_autoencoder import chamfer
from bench.auxiliary.point_upsampler import upsample
from bench.auxiliary.upsampler import UpsamplerRecipe
from bench.contracts.errors import ConfigError
from bench.contracts.runtime import Runtime, no_progress
from bench.defenses.dup_net import DUPNet, DUPNetConfig
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Store
from bench.testing.conformance import smoke_params
from bench.testing.toys import ToyVictim, toy_clouds

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def defense() -> DUPNet:
    clouds, _ = toy_clouds(64, 128, seed=11)
    recipe = UpsamplerRecipe(width=32, k=8, epochs=20, batch=16, lr=3e-3)
    dup = DUPNet()
    dup.bind_auxiliary(recipe.train(clouds, 0, torch.device("cpu"), no_progress("")).eval())
    return dup


def test_the_upsampler_rebuilds_a_cloud_from_half_its_points(defense) -> None:
    clouds, _ = toy_clouds(8, 128, seed=4)
    half = clouds[:, ::2]
    assert defense.auxiliary is not None
    with torch.no_grad():
        rebuilt = upsample(defense.auxiliary, half)
    assert rebuilt.shape == (8, 128, 3)
    assert chamfer(rebuilt, clouds).mean() < chamfer(half, clouds).mean()


def test_dup_net_removes_an_outlier_before_upsampling(defense) -> None:
    clouds, _ = toy_clouds(2, 128, seed=4)
    spiked = clouds.clone()
    spiked[:, 7] = torch.tensor([3.0, 3.0, 3.0])
    out = defense.apply(spiked, torch.Generator())
    assert out.shape == (2, 256, 3)
    distance = (out - torch.tensor([3.0, 3.0, 3.0])).norm(dim=-1)
    assert distance.min() > 1.0


def test_attacks_get_the_upsamplers_gradient_on_the_undefended_cloud(defense) -> None:
    """BPDA: the victim's gradient at the defended cloud, carried back through the upsampler
    applied to the undefended cloud (SOR taken as the identity)."""
    clouds, _ = toy_clouds(2, 128, seed=4)
    assert defense.auxiliary is not None
    x = clouds.clone().requires_grad_(True)
    ToyVictim(seed=0, defense=defense).sample(x, 1).sum().backward()
    # The forward values the victim saw, bit for bit: on the padded duplicates SOR leaves,
    # max-pooling's ties are broken by the last bit, and so is where the gradient goes.
    with torch.no_grad():
        forward = defense.surrogate(clouds, defense.apply(clouds, torch.Generator()))
    defended = forward.clone().requires_grad_(True)
    ToyVictim(seed=0).sample(defended, 1).sum().backward()
    y = clouds.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(upsample(defense.auxiliary, y), y, defended.grad)
    assert x.grad is not None and x.grad.abs().sum() > 0
    torch.testing.assert_close(x.grad, expected)
    naive = DUPNet(DUPNetConfig(bpda=False))
    naive.bind_auxiliary(defense.auxiliary)
    z = clouds.clone().requires_grad_(True)
    ToyVictim(seed=0, defense=naive).sample(z, 1).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() == 0


def test_dup_net_unbound_and_bad_configs_are_one_sentence() -> None:
    clouds, _ = toy_clouds(1, 32, seed=1)
    with pytest.raises(ConfigError, match="dup_net needs its trained upsampler network"):
        DUPNet().apply(clouds, torch.Generator())
    with pytest.raises(ConfigError):
        DUPNetConfig(ratio=1)


def test_a_dup_net_cell_trains_its_upsampler_and_runs_adaptive_and_unaware(
    tmp_path: Path,
) -> None:
    spec = {
        "methods": [{"name": "ulip", "params": smoke_params("methods", "ulip")}],
        "corpus": {"name": "procedural40", "params": {"train_per_class": 2, "points": 128}},
        "datasets": [{"name": "procedural40", "params": {"test_per_class": 1, "points": 128}}],
        "attacks": [{"name": "pgd", "params": {"eps": 0.05, "steps": 3}}],
        "defenses": ["dup_net", "sor"],
    }
    dup, sor = expand(spec)
    assert dup.defense_auxiliary is not None and sor.defense_auxiliary is None
    assert dup.defense_auxiliary.recipe == UpsamplerRecipe(ratio=2)
    (outcome,) = Runner(Store(tmp_path / "store"), Runtime(batch_size=8)).run([dup])
    record = outcome.record
    assert record.status == "ok", record.error
    assert record.metrics["runs"] == ["adaptive", "unaware"]
    assert record.provenance["auxiliary"]["defense"]["recipe"] == "upsampler v1"
    assert record.metrics["robust_acc"] <= record.metrics["robust_acc_unaware"]
