"""A method plugin: a PointNet (shared per-point MLP, max-pool) distilled into the teacher space.

It reuses bench's contrastive recipe (`train_contrastive`), so the method only says what its
encoder is and how clouds are prepared for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.contracts.bounds import LOGIT_SCALE, POINTS, TRAINING_RULES, integer, require
from bench.contracts.plugins import Method, PluginInfo
from bench.contracts.train_context import TrainContext


@dataclass(frozen=True)
class TinyPointNetConfig:
    width: int = 128
    num_points: int = 512
    text_encoder: str = "minilm"  # the teacher whose space the clouds are aligned to
    templates: str = "ulip64"  # prompt templates for the class embeddings
    logit_scale: float = 100.0
    epochs: int = 4
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05

    def __post_init__(self) -> None:
        # Every number gets a range: `lr=1e30` would train NaN weights that still give a number.
        require(
            self,
            "tiny_pointnet",
            {
                "width": integer(1, 4096),
                "num_points": POINTS,
                "logit_scale": LOGIT_SCALE,
                **TRAINING_RULES,  # epochs, batch_size, lr, weight_decay
            },
        )


class PointNet(torch.nn.Module):
    """Per-point MLP, then max-pool: order-invariant, and small enough to train in seconds."""

    def __init__(self, width: int, embed_dim: int) -> None:
        super().__init__()
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(3, width), torch.nn.GELU(), torch.nn.Linear(width, width)
        )
        self.head = torch.nn.Linear(width, embed_dim)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.head(self.mlp(points).amax(dim=1))


class TinyPointNet(Method[TinyPointNetConfig]):
    """A deterministic PointNet miniature (a method whose forward pass draws noise says so
    with `stochastic = True`)."""

    Config = TinyPointNetConfig
    version = 1
    smoke = TinyPointNetConfig(width=16, num_points=64, epochs=1)  # for the conformance suite
    info = PluginInfo(
        display="Tiny PointNet",
        description="A PointNet distilled into the teacher space (an example)",
        cite="Qi et al., PointNet, CVPR 2017",
    )

    def build_encoder(self, embed_dim: int) -> torch.nn.Module:
        return PointNet(self.config.width, embed_dim)

    def preprocess(self, points: torch.Tensor) -> torch.Tensor:
        from bench.nn.preprocess import match_channels, match_count

        return match_count(match_channels(points, 3), self.config.num_points)

    def train(self, ctx: TrainContext) -> torch.nn.Module:
        from bench.training.distill import train_contrastive
        from bench.training.loop import Schedule

        c = self.config
        torch.manual_seed(ctx.seed)  # the initial weights are part of the recipe
        encoder = self.build_encoder(ctx.class_embeddings.shape[1])
        schedule = Schedule(c.epochs, c.batch_size, c.lr, c.weight_decay, ctx.seed)
        return train_contrastive(encoder, self.preprocess, ctx, schedule)
