"""ULIP: a Point-BERT encoder distilled into a frozen CLIP-like space by contrastive alignment.

The miniature recipe keeps ULIP's structure (Point-BERT backbone, CLS-and-max feature, raw
projection matrix, InfoNCE to teacher text and, when a dataset has them, image embeddings,
learnable temperature) at a size that trains on two CPU cores, with the offline teacher.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.contracts.bounds import (
    LOGIT_SCALE,
    PATCH_RULES,
    POINT_BERT_RULES,
    TRAINING_RULES,
    require,
)
from bench.contracts.plugins import METHODS, Method, PluginInfo
from bench.contracts.releases import release_table

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
        require(self, "ulip", {**POINT_BERT_RULES, **TRAINING_RULES, "logit_scale": LOGIT_SCALE})
        require(self, "ulip", PATCH_RULES)


ENTRIES = Path(__file__).with_name("entries")  # one file per published checkpoint


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
    releases = release_table(ENTRIES, "ulip", UlipConfig)

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
