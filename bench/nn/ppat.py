"""OpenShape's point encoder "PPAT" (PointBERT variant), at official or miniature size.

A PointNet++ set-abstraction layer turns balls around farthest-point centres into patch tokens;
a pre-norm transformer without positional embedding reads them behind a learned CLS token, and
a Linear head maps the CLS output into the teacher space. Parameter names equal the official
state_dict of `Projected` (`ppat.*`, `proj.*`), so a published checkpoint loads with strict key
accounting, and the parity fixture pins the forward pass down to the sampling order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from bench.contracts.bounds import (
    DEPTH,
    HEADS,
    WIDTH,
    Rules,
    each,
    integer,
    number,
    one_of,
    require,
)
from bench.contracts.errors import DataError
from bench.contracts.randomness import RandomSource
from bench.nn.pointops import FpsStart, ball_query, farthest_point_sample, gather


@dataclass(frozen=True)
class PpatConfig:
    """Hyperparameters of a PPAT encoder; names follow the official constructor where they can."""

    dim: int
    depth: int
    heads: int
    mlp_dim: int
    sa_dim: int
    patches: int
    radius: float
    nsample: int
    proj_dim: int
    dim_head: int = 64
    # Per-point feature channels besides the centred xyz: 6 = xyz || rgb, 3 = xyz.
    in_channels: int = 6
    # The set abstraction's first two widths, hard-coded to 64/64 officially.
    sa_widths: tuple[int, int] = (64, 64)
    # Official: DGL picks a random FPS start on every call. "first" makes the encoder deterministic.
    fps_start: FpsStart = "random"

    def __post_init__(self) -> None:
        rules: Rules = {
            "dim": WIDTH,
            "depth": DEPTH,
            "heads": HEADS,
            "mlp_dim": WIDTH,
            "sa_dim": WIDTH,
            "patches": integer(1, 8_192),
            "radius": number(0, 2, low_open=True),
            "nsample": integer(1, 1_024),
            "proj_dim": WIDTH,
            "dim_head": WIDTH,
            "in_channels": one_of(3, 6),  # xyz, or xyz + rgb
            "sa_widths": each(WIDTH),
            "fps_start": one_of("first", "random"),
        }
        require(self, "ppat", rules)


# OpenShape PointBERT G14 (`make` with scaling 4): 384 patches of 64 points within radius 0.2,
# 12 blocks 512 wide, projected to OpenCLIP ViT-bigG-14's 1280.
G14 = PpatConfig(
    dim=512,
    depth=12,
    heads=8,
    mlp_dim=1536,
    sa_dim=256,
    patches=384,
    radius=0.2,
    nsample=64,
    proj_dim=1280,
)


class SetAbstraction(nn.Module):
    """FPS centres, ball-query groups and a shared MLP max-pooled per group (PointNet++ SA).

    Keeps the official `mlp_convs` (Conv2d 1x1) and `mlp_bns` (BatchNorm2d) for their names, but
    runs them on channels-last rows: a kernel-1 convolution is a matmul, and F.linear runs it
    several times faster on CPU (backward especially) than the convolution kernels.
    """

    def __init__(self, config: PpatConfig) -> None:
        super().__init__()
        self.config = config
        self.mlp_convs = nn.ModuleList()
        self.mlp_bns = nn.ModuleList()
        last = config.in_channels + 3
        for width in (*config.sa_widths, config.sa_dim):
            self.mlp_convs.append(nn.Conv2d(last, width, 1))
            self.mlp_bns.append(nn.BatchNorm2d(width))
            last = width

    def sample(
        self, xyz: torch.Tensor, generator: RandomSource = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Centre indices [B, P] in FPS order and ball members [B, P, nsample] in official order."""
        cfg = self.config
        centre_idx = farthest_point_sample(
            xyz, cfg.patches, start=cfg.fps_start, generator=generator
        )
        return centre_idx, ball_query(gather(xyz, centre_idx), xyz, cfg.radius, cfg.nsample)

    def forward(
        self, points: torch.Tensor, generator: RandomSource = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres [B, P, 3] and patch features [B, P, sa_dim] of clouds [B, N, 3 + features].

        Each ball member enters the MLP as [xyz - centre || its features], the features being
        the whole input row (xyz || rgb), exactly as the official `sample_and_group` builds it.
        """
        xyz = points[..., :3]
        centre_idx, ball_idx = self.sample(xyz, generator)
        centres = gather(xyz, centre_idx)
        members = gather(points, ball_idx)
        rows = torch.cat([members[..., :3] - centres.unsqueeze(2), members], dim=-1)
        batch, patches, samples, channels = rows.shape
        x = rows.reshape(-1, channels)
        for layer, bn in zip(self.mlp_convs, self.mlp_bns, strict=True):
            conv = cast(nn.Conv2d, layer)
            x = F.linear(x, conv.weight.flatten(1), conv.bias)
            # BatchNorm2d on [M, C, 1, 1] takes the same per-channel statistics as on the official
            # [B, C, nsample, P] layout, and keeps the module's own running-stat bookkeeping.
            x = F.relu(bn(x[..., None, None]).flatten(1))
        return centres, x.reshape(batch, patches, samples, -1).max(dim=2).values


class Attention(nn.Module):
    """Multi-head self-attention: bias-free `to_qkv`, `to_out.0` Linear with bias."""

    def __init__(self, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads = heads
        self.dim_head = dim_head
        inner = heads * dim_head
        self.to_qkv = nn.Linear(dim, 3 * inner, bias=False)
        # Officially there is no output projection when one head already spans the width.
        project_out = not (heads == 1 and dim_head == dim)
        self.to_out = nn.Sequential(nn.Linear(inner, dim)) if project_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        qkv = self.to_qkv(x).reshape(batch, tokens, 3, self.heads, self.dim_head)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)  # scale dim_head^-0.5, as officially
        return self.to_out(x.transpose(1, 2).reshape(batch, tokens, -1))


class FeedForward(nn.Module):
    """`net.0` -> GELU (erf) -> `net.3`; slot 2 is the official dropout (p = 0)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(), nn.Identity(), nn.Linear(hidden, dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PreNorm(nn.Module):
    """LayerNorm then `fn`, named as officially (`norm`, `fn`)."""

    def __init__(self, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.norm(x))


class Transformer(nn.Module):
    """Pre-norm residual blocks with no positional embedding and no final norm."""

    def __init__(self, config: PpatConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    PreNorm(config.dim, Attention(config.dim, config.heads, config.dim_head)),
                    PreNorm(config.dim, FeedForward(config.dim, config.mlp_dim)),
                ]
            )
            for _ in range(config.depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.layers:
            attn, ff = cast(nn.ModuleList, block)
            x = attn(x) + x
            x = ff(x) + x
        return x


class PointPatchTransformer(nn.Module):
    """Patchify, lift to tokens, transform behind a CLS token: OpenShape's `ppat`."""

    def __init__(self, config: PpatConfig) -> None:
        super().__init__()
        self.config = config
        self.sa = SetAbstraction(config)
        # Slot 1 is the official permute to channels-last; the rows here are channels-last already.
        self.lift = nn.Sequential(
            nn.Conv1d(config.sa_dim + 3, config.dim, 1), nn.Identity(), nn.LayerNorm(config.dim)
        )
        self.cls_token = nn.Parameter(torch.randn(config.dim))
        self.transformer = Transformer(config)

    def tokens(self, points: torch.Tensor, generator: RandomSource = None) -> torch.Tensor:
        """Patch tokens [B, P, dim] after the lift's LayerNorm: [centre xyz || SA feature]."""
        centres, features = self.sa(points, generator)
        conv = cast(nn.Conv1d, self.lift[0])
        x = F.linear(torch.cat([centres, features], dim=-1), conv.weight.squeeze(-1), conv.bias)
        return self.lift[2](x)

    def forward(self, points: torch.Tensor, generator: RandomSource = None) -> torch.Tensor:
        """The CLS output [B, dim] (the pre-projection feature)."""
        tokens = self.tokens(points, generator)
        cls = self.cls_token.expand(tokens.shape[0], 1, -1)
        return self.transformer(torch.cat([cls, tokens], dim=1))[:, 0]


class PpatEncoder(nn.Module):
    """Point cloud [B, N, in_channels] -> embedding [B, proj_dim]: OpenShape's `Projected`.

    The official forward takes `xyz` and `features` separately, but every official caller passes
    the xyz columns of `features` as `xyz`, so one [B, N, xyz || rgb] tensor carries both.
    """

    def __init__(self, config: PpatConfig) -> None:
        super().__init__()
        self.config = config
        self.ppat = PointPatchTransformer(config)
        self.proj = nn.Linear(config.dim, config.proj_dim)

    def forward(
        self,
        points: torch.Tensor,
        generator: RandomSource = None,
        draws: int | None = None,
    ) -> torch.Tensor:
        """The embedding that zero-shot logits compare with class embeddings.

        `generator` supplies the random FPS starts when the config asks for them. `draws=E` runs
        E independent draws as one batch of E * B clouds and returns [E, B, proj_dim].
        """
        if points.dim() != 3 or points.shape[-1] != self.config.in_channels:
            raise DataError(
                f"PPAT expects points shaped [B, N, {self.config.in_channels}], "
                f"got {list(points.shape)}"
            )
        if draws is None:
            return self.proj(self.ppat(points, generator))
        batch = points.shape[0]
        copies = points.unsqueeze(0).expand(draws, *points.shape).reshape(-1, *points.shape[1:])
        return self.proj(self.ppat(copies, generator)).reshape(draws, batch, -1)
