"""The Uni3D point encoder (Zhou et al., ICLR 2024) in pure torch, with the official names.

Uni3D groups a cloud as ULIP-2 does (FPS centres, kNN neighbourhoods, centred xyz with raw
rgb, the same mini-PointNet), then runs the blocks of a timm EVA image transformer on the
patch tokens: positions are added once before the blocks, no RoPE, LayerNorm eps 1e-6, and the
CLS token goes through `fc_norm` and a linear map into the teacher's space. The five released
sizes differ in their blocks: ti and s use a fused qkv with q and v biases and a packed SwiGLU;
b and l separate q, k, v projections and use a SwiGLU with a LayerNorm inside; g (EVA-01)
uses the fused qkv and a GELU MLP. The timm image model's leftovers (patch embedding, image
positions, classifier head) are kept as parameters, unused, so published checkpoints load
strictly; their sizes are the only thing the image size and class count change.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.contracts.bounds import (
    DEPTH,
    HEADS,
    WIDTH,
    Rules,
    divides,
    each,
    integer,
    one_of,
    require,
)
from bench.contracts.errors import DataError
from bench.nn.backbone import MiniPointNet
from bench.nn.pointops import farthest_point_sample, gather, knn

BLOCKS = ("packed_swiglu", "swiglu", "gelu")
EPS = 1e-6


@dataclass(frozen=True)
class Uni3dConfig:
    num_groups: int
    group_size: int
    encoder_dims: int  # the mini-PointNet's output (Uni3D's pc_encoder_dim)
    width: int  # the EVA blocks' width (pc_feat_dim)
    depth: int
    heads: int
    mlp_hidden: int
    block: str  # one of BLOCKS
    proj_dim: int  # the teacher's dimension (Uni3D's embed_dim)
    image_tokens: int  # timm leftovers: 1 + (img_size / patch_size)^2
    patch_size: int
    head_classes: int = 0  # timm leftover classifier, 0: none
    encoder_widths: tuple[int, int, int] = (128, 256, 512)

    def __post_init__(self) -> None:
        rules: Rules = {
            "num_groups": integer(1, 8_192),
            "group_size": integer(1, 1_024),
            "encoder_dims": WIDTH,
            "width": WIDTH,
            "depth": DEPTH,
            "heads": (HEADS, divides("width")),
            "mlp_hidden": WIDTH,
            "block": one_of(*BLOCKS),
            "proj_dim": WIDTH,
            "image_tokens": integer(1, 1_000_000),
            "patch_size": integer(1, 1_024),
            "head_classes": integer(0, 1_000_000),
            "encoder_widths": each(WIDTH),
        }
        require(self, "uni3d", rules)


def _sizes(width: int, depth: int, heads: int, hidden: int, block: str, image: int, patch: int,
           head: int) -> Uni3dConfig:  # fmt: skip
    return Uni3dConfig(512, 64, 512, width, depth, heads, hidden, block, 1024, image, patch, head)


# The released sizes (timm models eva02_tiny/small_patch14_224, eva02_base/large_patch14_448,
# eva_giant_patch14_560), with 512 groups of 64 points, a 512-wide tokeniser, 1024 outputs.
UNI3D_TI = _sizes(192, 12, 3, 512, "packed_swiglu", 257, 14, 0)
UNI3D_S = _sizes(384, 12, 6, 1024, "packed_swiglu", 257, 14, 0)
UNI3D_B = _sizes(768, 12, 12, 2048, "swiglu", 1025, 14, 1000)
UNI3D_L = _sizes(1024, 24, 16, 2730, "swiglu", 1025, 14, 1000)
UNI3D_G = _sizes(1408, 40, 16, 6144, "gelu", 1601, 14, 1000)


class Attention(nn.Module):
    """Multi-head self-attention, fused (q and v biases, no k bias) or with split projections."""

    def __init__(self, width: int, heads: int, fused: bool) -> None:
        super().__init__()
        self.heads, self.fused = heads, fused
        if fused:
            self.q_bias = nn.Parameter(torch.zeros(width))
            self.v_bias = nn.Parameter(torch.zeros(width))
            self.qkv = nn.Linear(width, 3 * width, bias=False)
        else:
            self.q_proj = nn.Linear(width, width)
            self.k_proj = nn.Linear(width, width, bias=False)
            self.v_proj = nn.Linear(width, width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        if self.fused:
            bias = torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])
            q, k, v = F.linear(x, self.qkv.weight, bias).chunk(3, dim=-1)
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        shape = (batch, tokens, self.heads, width // self.heads)
        q, k, v = (t.reshape(shape).transpose(1, 2) for t in (q, k, v))
        attention = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
        out = attention.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, width))


class Mlp(nn.Module):
    """The EVA feed-forward: packed SwiGLU (gate on the first half), SwiGLU with a LayerNorm
    inside, or fc1, GELU, fc2."""

    def __init__(self, width: int, hidden: int, block: str) -> None:
        super().__init__()
        self.block = block
        if block == "swiglu":
            self.fc1_g = nn.Linear(width, hidden)
            self.fc1_x = nn.Linear(width, hidden)
            self.norm = nn.LayerNorm(hidden, eps=EPS)
        else:
            self.fc1 = nn.Linear(width, 2 * hidden if block == "packed_swiglu" else hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.block == "swiglu":
            hidden = self.norm(F.silu(self.fc1_g(x)) * self.fc1_x(x))
        elif self.block == "packed_swiglu":
            gate, value = self.fc1(x).chunk(2, dim=-1)
            hidden = F.silu(gate) * value
        else:
            hidden = F.gelu(self.fc1(x))
        return self.fc2(hidden)


class Block(nn.Module):
    def __init__(self, config: Uni3dConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.width, eps=EPS)
        self.attn = Attention(config.width, config.heads, fused=config.block != "swiglu")
        self.norm2 = nn.LayerNorm(config.width, eps=EPS)
        self.mlp = Mlp(config.width, config.mlp_hidden, config.block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """timm's image patch embedding: in every checkpoint, used by no point-cloud forward."""

    def __init__(self, width: int, patch: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, width, patch, patch)


class Visual(nn.Module):
    """The timm EVA model as Uni3D keeps it: its blocks and fc_norm run, the rest is unused."""

    def __init__(self, config: Uni3dConfig) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, config.image_tokens, config.width))
        self.patch_embed = PatchEmbed(config.width, config.patch_size)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.depth))
        self.fc_norm = nn.LayerNorm(config.width, eps=EPS)
        if config.head_classes:
            self.head = nn.Linear(config.width, config.head_classes)


class PointcloudEncoder(nn.Module):
    def __init__(self, config: Uni3dConfig) -> None:
        super().__init__()
        self.config = config
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.width))
        self.cls_pos = nn.Parameter(torch.zeros(1, 1, config.width))
        self.encoder = MiniPointNet(6, config.encoder_widths, config.encoder_dims)
        self.encoder2trans = nn.Linear(config.encoder_dims, config.width)
        self.trans2embed = nn.Linear(config.width, config.proj_dim)
        self.pos_embed = nn.Sequential(nn.Linear(3, 128), nn.GELU(), nn.Linear(128, config.width))
        self.visual = Visual(config)

    def group(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Neighbourhoods [B, G, k, 6] (xyz centred, rgb raw) and their centres [B, G, 3]."""
        xyz = points[..., :3]
        centres = gather(xyz, farthest_point_sample(xyz, self.config.num_groups))
        neighbours = gather(points, knn(centres, xyz, self.config.group_size))
        return neighbours - F.pad(centres, (0, 3)).unsqueeze(2), centres

    def features(self, points: torch.Tensor) -> torch.Tensor:
        """The CLS feature after fc_norm [B, width], before the projection."""
        groups, centres = self.group(points)
        tokens = self.encoder2trans(self.encoder(groups))
        batch = tokens.shape[0]
        x = torch.cat([self.cls_token.expand(batch, -1, -1), tokens], dim=1)
        pos = torch.cat([self.cls_pos.expand(batch, -1, -1), self.pos_embed(centres)], dim=1)
        x = x + pos
        for block in self.visual.blocks:
            x = block(x)
        return self.visual.fc_norm(x[:, 0])


class Uni3dEncoder(nn.Module):
    """Point cloud [B, N, 6] (xyz, rgb in [0, 1]) -> embedding [B, proj_dim]."""

    def __init__(self, config: Uni3dConfig) -> None:
        super().__init__()
        self.config = config
        self.logit_scale = nn.Parameter(torch.tensor(0.0))  # in Uni3D's state dict; unused here
        self.point_encoder = PointcloudEncoder(config)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if points.dim() != 3 or points.shape[-1] != 6:
            raise DataError(f"Uni3D takes points shaped [B, N, 6], got {list(points.shape)}.")
        return self.point_encoder.trans2embed(self.point_encoder.features(points))
