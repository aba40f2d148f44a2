"""ULIP: a Point-BERT encoder distilled into a frozen CLIP-like space by contrastive alignment.

The miniature recipe keeps ULIP's structure (Point-BERT backbone, CLS-and-max feature, raw
projection matrix, InfoNCE to teacher text and, when a dataset has them, image embeddings,
learnable temperature) at a size that trains on two CPU cores, with the offline teacher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.contracts.errors import ConfigError
from bench.contracts.plugins import METHODS, Method, PluginInfo
from bench.contracts.releases import (
    ULIP_LAYOUT,
    PretrainingCorpus,
    PublishedAccuracy,
    Release,
    on_openshape_scanobjectnn,
)

if TYPE_CHECKING:
    import torch

    from bench.contracts.train_context import TrainContext


@dataclass(frozen=True)
class UlipConfig:
    # Input pipeline.
    num_points: int = 1024
    # Miniature Point-BERT backbone.
    num_groups: int = 32
    group_size: int = 32
    width: int = 128
    depth: int = 4
    heads: int = 4
    encoder_dims: int = 128
    encoder_widths: tuple[int, int, int] = (32, 64, 128)
    # Teacher space and zero-shot logits.
    text_encoder: str = "minilm"
    templates: str = "ulip64"
    logit_scale: float = 100.0
    # Training recipe.
    epochs: int = 8
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    augment: bool = True

    def __post_init__(self) -> None:
        positive = ("num_points", "num_groups", "group_size", "width", "depth", "heads", "epochs")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"ulip.{name} must be at least 1, not {getattr(self, name)}.")
        if self.group_size > self.num_points or self.num_groups > self.num_points:
            raise ConfigError("ulip.num_groups and ulip.group_size must not exceed num_points.")
        if self.lr <= 0 or self.logit_scale <= 0:
            raise ConfigError("ulip.lr and ulip.logit_scale must be positive.")


# ULIP-1 PointBERT as released (ULIP README, "ckpt_zero-sho_classification"): 8,192 xyz points,
# 512 groups of 32, 12 blocks 384 wide, SLIP's 512-d space; its text tower is in the same file.
# Pre-trained on ShapeNet55 with one of each synset's names as the text of a shape.
RELEASE = Release(
    name="ulip1-pointbert",
    config=UlipConfig(
        num_points=8192,
        num_groups=512,
        group_size=32,
        width=384,
        depth=12,
        heads=6,
        encoder_dims=256,
        encoder_widths=(128, 256, 512),
        text_encoder="ulip_text",
    ),
    layout=ULIP_LAYOUT,
    hub="SFXX/ulip",
    file="ULIP-1/pretrained_models/ckpt_zero-sho_classification/checkpoint_pointbert.pt",
    size="not listed",
    embed_dim=512,
    teacher=("ulip_text", {"release": "ulip1-pointbert"}),
    corpus=PretrainingCorpus("ShapeNet55 (synset names as text)", ("shapenet55",)),
    published=(
        PublishedAccuracy("modelnet40", 60.3, "ULIP README, zero-shot table (PointBERT, 8k)"),
        PublishedAccuracy(
            "objaverse_lvis", 6.2, "OpenShape paper, Table 2 (official ULIP-PointBERT)"
        ),
        on_openshape_scanobjectnn(51.5, "OpenShape paper, Table 2 (official ULIP-PointBERT)"),
    ),
)


@METHODS.register("ulip")
class Ulip(Method[UlipConfig]):
    """ULIP-style direct alignment of point features to the teacher space (Xue et al., 2023)."""

    Config = UlipConfig
    version = 1
    smoke = UlipConfig(num_points=256, num_groups=16, group_size=16, depth=1, epochs=1)
    info = PluginInfo(
        display="ULIP (PointBERT)",
        description="Point-BERT distilled into the teacher space by contrastive alignment",
        cite="Xue et al., ULIP: Learning a Unified Representation of Language, Images, and"
        " Point Clouds for 3D Understanding, CVPR 2023",
        url="https://github.com/salesforce/ULIP",
    )
    releases = {RELEASE.name: RELEASE}

    def build_encoder(self, embed_dim: int) -> torch.nn.Module:
        from bench.nn.backbone import PointBertEncoder, point_bert_config

        return PointBertEncoder(point_bert_config(self.config, embed_dim))

    def preprocess(self, points: torch.Tensor) -> torch.Tensor:
        from bench.nn.preprocess import match_channels, match_count

        return match_count(match_channels(points, 3), self.config.num_points)

    def train(self, ctx: TrainContext) -> torch.nn.Module:
        import torch

        from bench.training.distill import train_contrastive
        from bench.training.loop import Schedule

        c = self.config
        torch.manual_seed(ctx.seed)  # initial weights are part of the recipe
        encoder = self.build_encoder(ctx.class_embeddings.shape[1])
        schedule = Schedule(c.epochs, c.batch_size, c.lr, c.weight_decay, ctx.seed)
        return train_contrastive(encoder, self.preprocess, ctx, schedule, c.augment)
