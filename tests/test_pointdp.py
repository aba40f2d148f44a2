"""PointDP: diffusion purification, randomized, attacked through its chain or straight through."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.auxiliary.diffusion import DiffusionRecipe
from bench.auxiliary.point_autoencoder import chamfer
from bench.contracts.errors import ConfigError
from bench.contracts.runtime import Runtime, no_progress
from bench.defenses.pointdp import PointDP, PointDPConfig
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Store
from bench.testing.conformance import smoke_params
from bench.testing.toys import ToyVictim, toy_clouds

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    clouds, _ = toy_clouds(64, 128, seed=11)
    recipe = DiffusionRecipe(width=32, epochs=30, batch=16, lr=3e-3)
    return recipe.train(clouds, 0, torch.device("cpu"), no_progress("")).eval()


def defended(model: torch.nn.Module, **config: object) -> PointDP:
    defense = PointDP(PointDPConfig(**config))  # type: ignore[arg-type]
    defense.bind_auxiliary(model)
    return defense


def test_purification_draws_only_from_its_generator_and_moves_points_by_its_step(model) -> None:
    clouds, _ = toy_clouds(4, 128, seed=4)
    small, large = defended(model, step=2), defended(model, step=20)
    first = small.apply(clouds, torch.Generator().manual_seed(0))
    assert torch.equal(first, small.apply(clouds, torch.Generator().manual_seed(0)))
    assert not torch.equal(first, small.apply(clouds, torch.Generator().manual_seed(1)))
    far = large.apply(clouds, torch.Generator().manual_seed(0))
    assert chamfer(first, clouds).mean() < chamfer(far, clouds).mean()


def test_the_full_chain_and_bpda_give_different_gradients(model) -> None:
    clouds, _ = toy_clouds(2, 128, seed=4)
    grads = []
    for gradient in ("full", "bpda"):
        x = clouds.clone().requires_grad_(True)
        victim = ToyVictim(seed=0, defense=defended(model, gradient=gradient))
        victim.sample(x, 4).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        grads.append(x.grad)
    assert not torch.allclose(grads[0], grads[1])


def test_pointdp_refuses_a_step_beyond_its_model_and_runs_only_when_bound(model) -> None:
    clouds, _ = toy_clouds(1, 32, seed=1)
    with pytest.raises(ConfigError, match="pointdp.step=200 exceeds the model's 100 steps"):
        defended(model, step=200).apply(clouds, torch.Generator())
    with pytest.raises(ConfigError, match="pointdp needs its trained diffusion network"):
        PointDP().apply(clouds, torch.Generator())
    with pytest.raises(ConfigError):
        PointDPConfig(gradient="none")


def test_a_pointdp_cell_is_stochastic_and_runs_adaptive_naive_and_unaware(tmp_path: Path) -> None:
    spec = {
        "methods": [{"name": "ulip", "params": smoke_params("methods", "ulip")}],
        "corpus": {"name": "procedural40", "params": {"train_per_class": 2, "points": 128}},
        "datasets": [{"name": "procedural40", "params": {"test_per_class": 1, "points": 128}}],
        "attacks": [{"name": "pgd", "params": {"eps": 0.05, "steps": 2, "eot_draws": 2}}],
        "defenses": ["pointdp"],
    }
    (cell,) = expand(spec)
    assert cell.defense_auxiliary is not None
    assert cell.defense_auxiliary.recipe == DiffusionRecipe()
    (outcome,) = Runner(Store(tmp_path / "store"), Runtime(batch_size=8)).run([cell])
    record = outcome.record
    assert record.status == "ok", record.error
    assert record.metrics["stochastic"] and record.metrics["runs"] == [
        "adaptive",
        "naive",
        "unaware",
    ]
    assert record.provenance["auxiliary"]["defense"]["recipe"] == "diffusion v1"
