"""Point-BERT encoder: official names and shapes, and outputs equal to the official ULIP code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bench.contracts.errors import ConfigError, DataError
from bench.nn.backbone import MINIATURE, ULIP1, ULIP2, PointBertConfig, PointBertEncoder
from bench.testing.official import assert_matches_manifest

FIXTURES = Path(__file__).parent / "fixtures" / "official"
ULIP_FIXTURES = ["ulip1_pointbert", "ulip2_pointbert"]
# Stricter than the README's 1e-5 so that tanh-GELU or a wrong LayerNorm eps cannot slip through.
ATOL = 2e-6


def load(name: str) -> dict:
    return torch.load(FIXTURES / f"{name}.parity.pt", weights_only=True)


def reduced_config(fx: dict) -> PointBertConfig:
    """The fixture's reduced official hyperparameters, in the harness's field names."""
    cfg = fx["config"]
    reduced = cfg["reduced_model_config"]
    return PointBertConfig(
        num_groups=reduced["num_group"],
        group_size=reduced["group_size"],
        width=reduced["trans_dim"],
        depth=reduced["depth"],
        heads=reduced["num_heads"],
        encoder_dims=reduced["encoder_dims"],
        proj_dim=cfg["projection_shape"][1],
        in_channels=cfg["in_channels"],
    )


def official_model(name: str, **overrides: object) -> tuple[PointBertEncoder, dict]:
    fx = load(name)
    model = PointBertEncoder(replace(reduced_config(fx), **overrides))
    model.load_state_dict(fx["state_dict"], strict=True)
    return model.eval(), fx


@pytest.mark.parametrize("name", ULIP_FIXTURES)
def test_output_matches_official(name: str) -> None:
    model, fx = official_model(name)
    assert list(model.state_dict()) == list(fx["state_dict"])
    points, inter = fx["points"], fx["intermediates"]
    with torch.no_grad():
        groups, centres = model.point_encoder.group(points)
        tokens = model.point_encoder.encoder(groups)
        group_tokens, pooled = model.forward_features(points)
        output = model(points)
    assert torch.equal(centres, inter["centers"])
    torch.testing.assert_close(tokens, inter["encoder_tokens"], atol=ATOL, rtol=0)
    reduced = model.point_encoder.reduce_dim(tokens)
    torch.testing.assert_close(reduced, inter["reduce_dim_tokens"], atol=ATOL, rtol=0)
    pos = model.point_encoder.pos_embed(centres)
    torch.testing.assert_close(pos, inter["pos_embed"], atol=ATOL, rtol=0)
    torch.testing.assert_close(pooled, inter["pre_projection_feature"], atol=ATOL, rtol=0)
    torch.testing.assert_close(output, fx["output"], atol=ATOL, rtol=0)
    width = model.config.width
    assert group_tokens.shape == (2, model.config.num_groups, width)
    assert torch.equal(pooled[:, width:], group_tokens.max(dim=1).values)


@pytest.mark.parametrize(
    ("name", "config"), [("ulip1_pointbert", ULIP1), ("ulip2_pointbert", ULIP2)]
)
def test_full_size_names_and_shapes_equal_manifest(name: str, config: PointBertConfig) -> None:
    with torch.device("meta"):
        model = PointBertEncoder(config)
    assert_matches_manifest(model, FIXTURES / f"{name}.keys.json")


def test_gradient_reaches_every_input_channel() -> None:
    model, fx = official_model("ulip2_pointbert")
    points = fx["points"].clone().requires_grad_(True)
    model(points).square().sum().backward()
    grad = points.grad
    assert grad is not None and bool(grad.isfinite().all())
    assert bool((grad[..., :3].abs().sum() > 0) and (grad[..., 3:].abs().sum() > 0))


def test_random_fps_is_reproducible_under_a_generator() -> None:
    model, fx = official_model("ulip1_pointbert", fps_start="random")

    def embed(seed: int) -> torch.Tensor:
        with torch.no_grad():
            return model(fx["points"], generator=torch.Generator().manual_seed(seed))

    assert torch.equal(embed(3), embed(3))
    assert not torch.allclose(embed(3), embed(4))


def test_miniature_is_small_and_trains() -> None:
    torch.manual_seed(0)
    model = PointBertEncoder(MINIATURE)
    assert 1e5 <= sum(p.numel() for p in model.parameters()) < 1e6
    out = model(torch.randn(2, 256, 3))
    assert out.shape == (2, MINIATURE.proj_dim)
    out.square().mean().backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    assert all(g is not None and bool(g.isfinite().all()) for g in grads.values())
    assert all(bool(g.abs().sum() > 0) for g in grads.values())


def test_bad_inputs_are_reported() -> None:
    with pytest.raises(ConfigError, match="heads must be a divisor of width"):
        replace(MINIATURE, heads=3)
    with pytest.raises(ConfigError, match="in_channels"):
        replace(MINIATURE, in_channels=4)
    with pytest.raises(DataError, match=r"\[B, N, 3\]"):
        PointBertEncoder(replace(MINIATURE, depth=1))(torch.randn(2, 64, 6))
