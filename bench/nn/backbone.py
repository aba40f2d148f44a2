"""The Point-BERT point encoder of ULIP-1 and ULIP-2, at official or miniature size.

Parameter names equal the official ULIP state_dict (`point_encoder.*`, `pc_projection`), so a
published checkpoint loads with strict key accounting and the miniature shares the exact
forward that the parity fixtures pin down.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from bench.contracts.bounds import POINT_BERT_RULES, WIDTH, Rules, number, one_of, require
from bench.contracts.errors import DataError
from bench.nn.pointops import FpsStart, farthest_point_sample, gather, knn


@dataclass(frozen=True)
class PointBertConfig:
    """Hyperparameters of a Point-BERT encoder; field names follow the harness, not ULIP's yaml."""

    num_groups: int
    group_size: int
    width: int
    depth: int
    heads: int
    encoder_dims: int
    proj_dim: int
    in_channels: int = 3
    # The mini-PointNet's inner widths, hard-coded to 128/256/512 officially.
    encoder_widths: tuple[int, int, int] = (128, 256, 512)
    mlp_ratio: float = 4.0
    fps_start: FpsStart = "first"

    def __post_init__(self) -> None:
        rules: Rules = {
            **POINT_BERT_RULES,
            "proj_dim": WIDTH,
            "in_channels": one_of(3, 6),  # xyz, or xyz + rgb
            "mlp_ratio": number(0, 64, low_open=True),
            "fps_start": one_of("first", "random"),
        }
        require(self, "point_bert", rules)


# ULIP-1 PointBERT (xyz, 8k points in the official evaluation), projection to SLIP's 512.
ULIP1 = PointBertConfig(
    num_groups=512, group_size=32, width=384, depth=12, heads=6, encoder_dims=256, proj_dim=512
)
# ULIP-2 PointBERT: xyz+rgb, deeper, projection to OpenCLIP ViT-bigG-14's 1280.
ULIP2 = replace(ULIP1, depth=18, in_channels=6, proj_dim=1280)
# The miniature (the defaults of `ulip`): trains on two CPU cores; projects to the offline
# teacher's 384 dimensions (all-MiniLM-L6-v2).
MINIATURE = PointBertConfig(
    num_groups=32,
    group_size=32,
    width=128,
    depth=4,
    heads=4,
    encoder_dims=128,
    proj_dim=384,
    encoder_widths=(32, 64, 128),
)


def point_bert_config(fields: object, proj_dim: int) -> PointBertConfig:
    """The Point-BERT config named by a method config's backbone fields (`num_groups`, ...)."""
    names = ("num_groups", "group_size", "width", "depth", "heads", "encoder_dims")
    return PointBertConfig(
        **{name: getattr(fields, name) for name in names},
        encoder_widths=fields.encoder_widths,  # type: ignore[attr-defined]
        proj_dim=proj_dim,
    )


class MiniPointNet(nn.Module):
    """Embeds each group of centred points into one token (Point-BERT's `Encoder`)."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int], out_dims: int) -> None:
        super().__init__()
        first, second, third = widths
        self.first_conv = nn.Sequential(
            nn.Conv1d(in_channels, first, 1),
            nn.BatchNorm1d(first),
            nn.ReLU(inplace=True),
            nn.Conv1d(first, second, 1),
        )
        self.second_conv = nn.Sequential(
            nn.Conv1d(2 * second, third, 1),
            nn.BatchNorm1d(third),
            nn.ReLU(inplace=True),
            nn.Conv1d(third, out_dims, 1),
        )

    def forward(self, groups: torch.Tensor) -> torch.Tensor:
        """Tokens [B, G, out_dims] from groups [B, G, k, C]."""
        batch, num_groups, size, channels = groups.shape
        x = _pointwise(self.first_conv, groups.reshape(-1, channels))
        x = x.reshape(batch * num_groups, size, -1)
        pooled = x.max(dim=1).values
        # The official conv sees [global || per-point]; W [g; x] = W_g g + W_x x computes the global
        # half once per group instead of once per point (a third of the full-size FLOPs).
        conv = cast(nn.Conv1d, self.second_conv[0])
        weight = conv.weight.squeeze(-1)
        x = F.linear(x, weight[:, x.shape[-1] :]) + F.linear(
            pooled, weight[:, : x.shape[-1]], conv.bias
        ).unsqueeze(1)
        x = _pointwise(self.second_conv[1:], x.reshape(batch * num_groups * size, -1))
        return x.reshape(batch, num_groups, size, -1).max(dim=2).values


def _pointwise(stack: nn.Sequential, rows: torch.Tensor) -> torch.Tensor:
    """Run a kernel-1 Conv1d/BN/ReLU stack on channels-last rows [M, C].

    The Conv1d modules stay for their official names and shapes, but a kernel-1 convolution is a
    matmul, and on CPU F.linear runs it several times faster (backward especially) than mkldnn.
    BatchNorm1d on [M, C] uses the same per-channel statistics as on [B, C, L].
    """
    for layer in stack:
        if isinstance(layer, nn.Conv1d):
            rows = F.linear(rows, layer.weight.squeeze(-1), layer.bias)
        else:
            rows = layer(rows)
    return rows


class Attention(nn.Module):
    """Multi-head self-attention with a bias-free fused qkv, as in ULIP's Point-BERT."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(batch, tokens, width))


class Mlp(nn.Module):
    """fc1 -> GELU (erf) -> fc2."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block; submodules registered in the official order."""

    def __init__(self, width: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = Mlp(width, int(width * mlp_ratio))
        self.attn = Attention(width, heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TransformerEncoder(nn.Module):
    """Blocks that re-add the positions before every block, as ULIP does (Uni3D adds them once)."""

    def __init__(self, config: PointBertConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            Block(config.width, config.heads, config.mlp_ratio) for _ in range(config.depth)
        )

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x + pos)
        return x


class PointTransformer(nn.Module):
    """Grouping, tokens and transformer: ULIP's `point_encoder` (without the projection)."""

    def __init__(self, config: PointBertConfig) -> None:
        super().__init__()
        self.config = config
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.width))
        self.cls_pos = nn.Parameter(torch.randn(1, 1, config.width))
        self.encoder = MiniPointNet(config.in_channels, config.encoder_widths, config.encoder_dims)
        self.reduce_dim = nn.Linear(config.encoder_dims, config.width)
        self.pos_embed = nn.Sequential(nn.Linear(3, 128), nn.GELU(), nn.Linear(128, config.width))
        self.blocks = TransformerEncoder(config)
        self.norm = nn.LayerNorm(config.width)

    def group_indices(
        self, points: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Centre indices [B, G] (FPS) and neighbour indices [B, G, k] (kNN) into the cloud."""
        cfg = self.config
        xyz = points[..., :3]
        centre_idx = farthest_point_sample(
            xyz, cfg.num_groups, start=cfg.fps_start, generator=generator
        )
        return centre_idx, knn(gather(xyz, centre_idx), xyz, cfg.group_size)

    def group(
        self, points: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Neighbourhoods [B, G, k, C] (xyz centred, rgb raw) and their centres [B, G, 3]."""
        centre_idx, neighbour_idx = self.group_indices(points, generator)
        centres = gather(points[..., :3], centre_idx)
        offset = F.pad(centres, (0, points.shape[-1] - 3)).unsqueeze(2)
        return gather(points, neighbour_idx) - offset, centres

    def embed(
        self, points: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Patch tokens [B, G, width] before the transformer, and their centres [B, G, 3]."""
        groups, centres = self.group(points, generator)
        return self.reduce_dim(self.encoder(groups)), centres

    def encode(
        self, tokens: torch.Tensor, centres: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Group tokens [B, G, width] after the final norm, and [CLS || max over groups]."""
        batch = tokens.shape[0]
        x = torch.cat([self.cls_token.expand(batch, -1, -1), tokens], dim=1)
        pos = torch.cat([self.cls_pos.expand(batch, -1, -1), self.pos_embed(centres)], dim=1)
        x = self.norm(self.blocks(x, pos))
        return x[:, 1:], torch.cat([x[:, 0], x[:, 1:].max(dim=1).values], dim=-1)

    def forward(
        self, points: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode(*self.embed(points, generator))


class PointBertEncoder(nn.Module):
    """Point cloud [B, N, in_channels] -> embedding [B, proj_dim] in the teacher's space."""

    def __init__(self, config: PointBertConfig) -> None:
        super().__init__()
        self.config = config
        # A raw matrix applied as feature @ W, as ULIP stores it (an nn.Linear would transpose it).
        self.pc_projection = nn.Parameter(torch.empty(2 * config.width, config.proj_dim))
        nn.init.normal_(self.pc_projection, std=config.proj_dim**-0.5)
        self.point_encoder = PointTransformer(config)

    def forward_features(
        self, points: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-group tokens H [B, G, width] and pooled feature h [B, 2 * width], before projection.

        `generator` seeds the FPS start when the config asks for a random one.
        """
        if points.dim() != 3 or points.shape[-1] != self.config.in_channels:
            raise DataError(
                f"expected points shaped [B, N, {self.config.in_channels}], "
                f"got {list(points.shape)}"
            )
        return self.point_encoder(points, generator)

    def forward(
        self, points: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The embedding that zero-shot logits compare with class embeddings."""
        return self.forward_features(points, generator)[1] @ self.pc_projection
