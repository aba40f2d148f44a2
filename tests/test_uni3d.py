"""Uni3D encoder: official names and shapes for the five sizes, outputs equal to the official
code on its reduced-size fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.nn.uni3d import UNI3D_B, UNI3D_G, UNI3D_L, UNI3D_S, UNI3D_TI, Uni3dConfig, Uni3dEncoder
from bench.testing.official import assert_matches_manifest

FIXTURES = Path(__file__).parent / "fixtures" / "official"
SIZES = {"ti": UNI3D_TI, "s": UNI3D_S, "b": UNI3D_B, "l": UNI3D_L, "g": UNI3D_G}
ATOL = 2e-6  # the official float32 module is within 3.4e-7 of float64


def reduced(name: str, fx: dict) -> Uni3dConfig:
    """The fixture's reduced official hyperparameters, in the harness's field names."""
    config, timm, args = fx["config"], fx["config"]["timm_overrides"], fx["config"]["uni3d_args"]
    full = SIZES[name]
    image = 1 + (timm["img_size"] // timm["patch_size"]) ** 2
    return Uni3dConfig(
        num_groups=args["num_group"],
        group_size=args["group_size"],
        encoder_dims=args["pc_encoder_dim"],
        width=timm["embed_dim"],
        depth=timm["depth"],
        heads=timm["num_heads"],
        mlp_hidden=config["block"]["mlp_hidden"],
        block=full.block,
        proj_dim=args["embed_dim"],
        image_tokens=image,
        patch_size=timm["patch_size"],
        head_classes=10 if full.head_classes else 0,  # the fixtures shrank timm's head to 10
    )


@pytest.mark.parametrize("name", sorted(SIZES))
def test_output_matches_official(name: str) -> None:
    fx = torch.load(FIXTURES / f"uni3d_{name}.parity.pt", weights_only=True)
    model = Uni3dEncoder(reduced(name, fx))
    assert list(model.state_dict()) == list(fx["state_dict"])
    model.load_state_dict(fx["state_dict"], strict=True)
    model.eval()
    points, inter = fx["points"], fx["intermediates"]
    encoder = model.point_encoder
    with torch.no_grad():
        groups, centres = encoder.group(points)
        tokens = encoder.encoder(groups)
        features = encoder.features(points)
        output = model(points)
    torch.testing.assert_close(centres, inter["centers"], atol=0, rtol=0)
    torch.testing.assert_close(tokens, inter["encoder_tokens"], atol=ATOL, rtol=0)
    torch.testing.assert_close(features, inter["pre_projection_feature"], atol=ATOL, rtol=0)
    torch.testing.assert_close(output, fx["output"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", sorted(SIZES))
def test_full_size_names_and_shapes_equal_manifest(name: str) -> None:
    with torch.device("meta"):
        model = Uni3dEncoder(SIZES[name])
    assert_matches_manifest(model, FIXTURES / f"uni3d_{name}.keys.json")
