"""OpenShape: PPAT equal to the official code, its input pipeline, and the recipe's pieces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from baselines.openshape import (
    HardNegatives,
    OpenShape,
    OpenShapeConfig,
    augment,
    in_batch_loss,
    normalize_pc,
    rotation,
)
from bench.contracts.errors import ConfigError, DataError
from bench.evaluation.victim import ZeroShotVictim
from bench.nn.ppat import G14, PpatConfig, PpatEncoder
from bench.testing.official import assert_matches_manifest

FIXTURES = Path(__file__).parent / "fixtures" / "official"
NAME = "openshape_pointbert_g14"
# Stricter than the README's 1e-5 so that tanh-GELU or a wrong LayerNorm eps cannot slip through.
ATOL = 2e-6
# Intermediates pass through fewer normalisations than the output, so BLAS rounding shows more.
ATOL_INTERMEDIATE = 1e-5


def load() -> dict:
    return torch.load(FIXTURES / f"{NAME}.parity.pt", weights_only=True)


def reduced_config(fx: dict, **overrides: object) -> PpatConfig:
    """The fixture's reduced official hyperparameters, in the harness's field names."""
    r = fx["config"]["reduced_model_config"]
    config = PpatConfig(
        dim=r["dim"],
        depth=r["depth"],
        heads=r["heads"],
        dim_head=r["dim_head"],
        mlp_dim=r["mlp_dim"],
        sa_dim=r["sa_dim"],
        patches=r["patches"],
        radius=r["prad"],
        nsample=r["nsamp"],
        in_channels=r["in_dim"],
        proj_dim=r["out_channel"],
        fps_start="first",  # the fixture pins DGL's start to index 0
    )
    return replace(config, **overrides)


def official_model(**overrides: object) -> tuple[PpatEncoder, dict]:
    fx = load()
    model = PpatEncoder(reduced_config(fx, **overrides))
    model.load_state_dict(fx["state_dict"], strict=True)
    return model.eval(), fx


def test_output_matches_official() -> None:
    model, fx = official_model()
    assert list(model.state_dict()) == list(fx["state_dict"])
    points, inter = fx["points"], fx["intermediates"]
    features = points["features"]
    assert torch.equal(features[..., :3], points["xyz"])
    with torch.no_grad():
        centre_idx, ball_idx = model.ppat.sa.sample(points["xyz"])
        centres, sa_features = model.ppat.sa(features)
        tokens = model.ppat.tokens(features)
        pre_projection = model.ppat(features)
        output = model(features)
    assert torch.equal(centre_idx, inter["fps_idx"])
    assert torch.equal(ball_idx, inter["ball_idx"])
    assert torch.equal(centres, inter["centers"])
    close = {"atol": ATOL_INTERMEDIATE, "rtol": 0}
    torch.testing.assert_close(sa_features.transpose(1, 2), inter["sa_features"], **close)
    torch.testing.assert_close(tokens, inter["lift_tokens"], **close)
    torch.testing.assert_close(pre_projection, inter["pre_projection_feature"], **close)
    torch.testing.assert_close(output, fx["output"], atol=ATOL, rtol=0)


def test_full_size_names_and_shapes_equal_manifest() -> None:
    with torch.device("meta"):
        model = PpatEncoder(G14)
    assert_matches_manifest(model, FIXTURES / f"{NAME}.keys.json")
    assert G14.fps_start == "random"  # the released model draws a new start on every call


def test_random_fps_start_comes_from_the_generator_only() -> None:
    model, fx = official_model(fps_start="random")
    features = fx["points"]["features"]

    def embed(seed: int, global_seed: int = 0, **kwargs: int) -> torch.Tensor:
        torch.manual_seed(global_seed)
        with torch.no_grad():
            return model(features, generator=torch.Generator().manual_seed(seed), **kwargs)

    assert torch.equal(embed(3), embed(3, global_seed=1))
    assert not torch.allclose(embed(3), embed(4))
    draws = embed(3, draws=3)
    assert draws.shape == (3, *fx["output"].shape)
    # The first draw uses the first starts drawn; a larger batch only changes BLAS rounding.
    torch.testing.assert_close(draws[0], embed(3), atol=1e-5, rtol=0)
    assert not torch.allclose(draws[0], draws[1])


def test_first_fps_start_is_deterministic_and_ignores_the_generator() -> None:
    model, fx = official_model()
    features = fx["points"]["features"]
    with torch.no_grad():
        plain = model(features)
        seeded = model(features, generator=torch.Generator().manual_seed(5))
    assert torch.equal(plain, seeded)


def test_stochastic_follows_the_fps_start() -> None:
    assert not OpenShape().stochastic
    assert OpenShape(OpenShapeConfig(fps_start="random")).stochastic


def test_preprocess_swaps_to_z_up_normalises_and_adds_grey() -> None:
    method = OpenShape(OpenShapeConfig(num_points=64, normalize=True))
    gen = torch.Generator().manual_seed(0)
    cloud = torch.rand(2, 64, 3, generator=gen) * torch.tensor([0.2, 3.0, 0.5]) + 4.0
    out = method.preprocess(cloud)
    assert out.shape == (2, 64, 6)
    xyz = out[..., :3]
    torch.testing.assert_close(xyz.mean(dim=1), torch.zeros(2, 3), atol=1e-6, rtol=0)
    torch.testing.assert_close(xyz.norm(dim=-1).amax(dim=1), torch.ones(2))
    # The tall y extent of the input is now the z extent (OpenShape's y/z column swap).
    extent = xyz.amax(dim=1) - xyz.amin(dim=1)
    assert bool((extent[:, 2] > 4 * extent[:, 1]).all())
    assert bool((out[..., 3:] == 0.4).all())
    coloured = torch.cat([cloud, torch.rand(2, 64, 3, generator=gen)], dim=-1)
    assert torch.equal(method.preprocess(coloured)[..., 3:], coloured[..., 3:])
    plain = OpenShape(OpenShapeConfig(num_points=64, swap_yz=False, normalize=False))
    assert torch.equal(plain.preprocess(cloud)[..., :3], cloud)


def test_preprocess_matches_the_point_count() -> None:
    method = OpenShape(OpenShapeConfig(num_points=32, patches=16, nsample=16))
    assert method.preprocess(torch.randn(1, 100, 3)).shape == (1, 32, 6)


def test_normalisation_of_a_degenerate_cloud_is_zero_with_finite_gradients() -> None:
    cloud = torch.full((1, 16, 3), 0.5, requires_grad=True)
    out = normalize_pc(cloud)
    assert torch.equal(out, torch.zeros_like(out))
    out.sum().backward()
    assert cloud.grad is not None and bool(cloud.grad.isfinite().all())


def test_bad_inputs_and_configs_are_reported() -> None:
    method = OpenShape(OpenShape.smoke)
    with pytest.raises(DataError, match="xyz"):
        method.preprocess(torch.randn(2, 64, 4))
    encoder = method.build_encoder(8)
    with pytest.raises(DataError, match=r"\[B, N, 6\]"):
        encoder(torch.randn(2, 64, 3))
    with pytest.raises(ConfigError, match="heads must be a divisor of width"):
        OpenShapeConfig(heads=3)
    with pytest.raises(ConfigError, match="radius"):
        OpenShapeConfig(radius=0.0)
    with pytest.raises(ConfigError, match="group_size"):
        OpenShapeConfig(group_size=64)
    with pytest.raises(ConfigError, match="in_channels"):
        replace(G14, in_channels=4)


def test_in_batch_loss_removes_same_class_pairs() -> None:
    targets = torch.nn.functional.normalize(torch.randn(2, 8), dim=-1).repeat(2, 1)
    scale = torch.tensor(10.0)
    # Two clouds per class, each equal to its class target: only false negatives compete.
    loss = in_batch_loss(targets, targets, torch.tensor([0, 1, 0, 1]), scale)
    assert float(loss) < 1e-3
    shuffled = in_batch_loss(targets.flip(0), targets, torch.tensor([0, 1, 0, 1]), scale)
    assert shuffled > loss


def test_hard_negative_groups_come_from_the_nearest_classes() -> None:
    classes = torch.nn.functional.normalize(
        torch.tensor([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0]]), dim=-1
    )
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    sampler = HardNegatives(labels, classes, neighbours=1)
    seeds = torch.tensor([0, 4])
    batch = sampler.batch(seeds, 3, torch.Generator().manual_seed(0))
    assert batch.shape == (6,)
    groups = labels[batch].view(2, 3)
    assert groups[:, 0].tolist() == [0, 2]
    assert groups[0, 1:].tolist() == [1, 1]  # class 1 is nearest class 0
    assert groups[1, 1:].tolist() == [1, 1]  # and nearest class 2 among the others
    again = sampler.batch(seeds, 3, torch.Generator().manual_seed(0))
    assert torch.equal(batch, again)


def test_augment_is_seeded_and_keeps_rgb_or_greys_it() -> None:
    gen = torch.Generator().manual_seed(0)
    points = torch.cat(
        [torch.randn(8, 32, 3, generator=gen), torch.rand(8, 32, 3, generator=gen)], -1
    )
    first = augment(points, torch.Generator().manual_seed(1), rotate_up=True)
    second = augment(points, torch.Generator().manual_seed(1), rotate_up=True)
    assert torch.equal(first, second) and first.shape == points.shape
    kept = (first[..., 3:] == points[..., 3:]).all(dim=(1, 2))
    grey = (first[..., 3:] == 0.4).all(dim=(1, 2))
    assert bool((kept | grey).all())


def test_rotation_matrices_are_proper_and_keep_their_axis() -> None:
    angles = torch.tensor([0.3, -1.2])
    for axis in range(3):
        matrix = rotation(angles, axis)
        torch.testing.assert_close(matrix @ matrix.transpose(1, 2), torch.eye(3).expand(2, 3, 3))
        torch.testing.assert_close(torch.linalg.det(matrix), torch.ones(2))
        assert torch.equal(matrix[:, axis], torch.eye(3)[axis].expand(2, 3))


def test_random_start_victim_draws_are_batched_and_reseedable() -> None:
    method = OpenShape(replace(OpenShape.smoke, fps_start="random"))
    torch.manual_seed(0)
    encoder = method.build_encoder(8).eval()
    classes = torch.nn.functional.normalize(torch.randn(3, 8), dim=-1)
    victim = ZeroShotVictim(
        encoder, method.preprocess, classes, ("a", "b", "c"), 100.0, stochastic=True
    )
    points = torch.randn(2, 256, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        first = victim.sample(points, 4)
        victim.reseed(0)
        again = victim.sample(points, 4)
    assert first.shape == (4, 2, 3)
    assert torch.equal(first, again)
    assert not torch.allclose(first[0], first[1])
