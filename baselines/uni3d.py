"""Uni3D (Zhou et al., ICLR 2024): EVA transformer blocks on Point-BERT patches, aligned to
OpenCLIP EVA02-E-14-plus. Evaluated from its released weights only (no miniature recipe).

The official preprocessing (`pc_norm`: centre, scale to the unit sphere) is the datasets' own;
clouds stay y-up (no swap), get rgb (0.4 grey where a dataset has none) and keep at most
`num_points` points (10,000 as officially; ScanObjectNN's 2,048 are all kept). Uni3D's
PatchDropout, which its code leaves active at evaluation when configured, is not built: the
released evaluation sets it to 0, so the victim is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.contracts.bounds import LOGIT_SCALE, Rules, integer, one_of, require
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import METHODS, Method, PluginInfo
from bench.contracts.releases import release_table

if TYPE_CHECKING:
    import torch

    from bench.contracts.train_context import TrainContext

SIZES = ("ti", "s", "b", "l", "g")


@dataclass(frozen=True)
class Uni3dMethodConfig:
    size: str = "b"
    num_points: int = 10000
    text_encoder: str = "open_clip"
    templates: str = "ulip64"
    logit_scale: float = 100.0

    def __post_init__(self) -> None:
        # Every released size cuts a cloud into 512 patches.
        rules: Rules = {
            "size": one_of(*SIZES),
            "num_points": integer(512, 1_000_000),
            "logit_scale": LOGIT_SCALE,
        }
        require(self, "uni3d", rules)


ENTRIES = Path(__file__).with_name("entries")  # one file per published checkpoint


@METHODS.register("uni3d")
class Uni3d(Method[Uni3dMethodConfig]):
    """Uni3D's point encoder (five sizes) with its released weights."""

    Config = Uni3dMethodConfig
    version = 1
    miniature = False
    releases = release_table(ENTRIES, "uni3d", Uni3dMethodConfig)
    smoke = Uni3dMethodConfig(size="ti", num_points=1024)
    info = PluginInfo(
        display="Uni3D",
        description="EVA transformer on point patches, from its released weights (ti to g)",
        cite="Zhou et al., Uni3D: Exploring Unified 3D Representation at Scale, ICLR 2024",
        url="https://github.com/baaivision/Uni3D",
    )

    def build_encoder(self, embed_dim: int) -> torch.nn.Module:
        from bench.nn import uni3d

        config = getattr(uni3d, f"UNI3D_{self.config.size.upper()}")
        return uni3d.Uni3dEncoder(replace(config, proj_dim=embed_dim))

    def preprocess(self, points: torch.Tensor) -> torch.Tensor:
        from bench.nn.preprocess import match_channels, match_count

        return match_count(match_channels(points, 6), self.config.num_points)

    def train(self, ctx: TrainContext) -> torch.nn.Module:
        raise ConfigError("uni3d is evaluated from its released weights: --weights official.")
