"""ULIP-2 (Xue et al., CVPR 2024): an 18-block Point-BERT on xyz + rgb, aligned to OpenCLIP
ViT-bigG-14 with generated captions. Evaluated from its released weights only.

Clouds keep at most `num_points` points (10,000 as officially), no axis swap, rgb from the
dataset or 0.4 grey. The official loader reads ULIP-2's checkpoint with strict=False, so a wrong
file loads silently there; here every encoder tensor must be present with its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.contracts.bounds import LOGIT_SCALE, Rules, integer, require
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import METHODS, Method, PluginInfo
from bench.contracts.releases import release_table

if TYPE_CHECKING:
    import torch

    from bench.contracts.train_context import TrainContext


@dataclass(frozen=True)
class Ulip2Config:
    num_points: int = 10000
    text_encoder: str = "open_clip"
    templates: str = "ulip64"
    logit_scale: float = 100.0

    def __post_init__(self) -> None:
        # The released backbone cuts every cloud into 512 patches.
        rules: Rules = {"num_points": integer(512, 1_000_000), "logit_scale": LOGIT_SCALE}
        require(self, "ulip2", rules)


ENTRIES = Path(__file__).with_name("entries")  # one file per published checkpoint


@METHODS.register("ulip2")
class Ulip2(Method[Ulip2Config]):
    """ULIP-2's colored Point-BERT with its released weights."""

    Config = Ulip2Config
    version = 1
    miniature = False
    releases = release_table(ENTRIES, "ulip2", Ulip2Config)
    smoke = Ulip2Config(num_points=1024)
    info = PluginInfo(
        display="ULIP-2 (PointBERT, xyz+rgb)",
        description="18-block Point-BERT on xyz+rgb in OpenCLIP bigG space, from released weights",
        cite="Xue et al., ULIP-2: Towards Scalable Multimodal Pre-training for 3D Understanding,"
        " CVPR 2024",
        url="https://github.com/salesforce/ULIP",
    )

    def build_encoder(self, embed_dim: int) -> torch.nn.Module:
        from dataclasses import replace

        from bench.nn.backbone import ULIP2, PointBertEncoder

        return PointBertEncoder(replace(ULIP2, proj_dim=embed_dim))

    def preprocess(self, points: torch.Tensor) -> torch.Tensor:
        from bench.nn.preprocess import match_channels, match_count

        return match_count(match_channels(points, 6), self.config.num_points)

    def train(self, ctx: TrainContext) -> torch.nn.Module:
        raise ConfigError("ulip2 is evaluated from its released weights: --weights official.")
