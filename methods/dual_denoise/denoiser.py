"""The feature-denoising network: a diffusion-style denoiser in the teacher's embedding space.

A noisy embedding z_t (one query token per noise copy) is mapped back toward the clean target
while attending to the point tokens through cross-attention, so the denoised feature is
re-derived from the cloud rather than from the possibly perturbed pooled estimate alone. Copies
never attend to each other, so any number of them runs as one batched pass over shared tokens.

The noise schedule is continuous, t in [0, 1], with the cosine schedule
alpha_bar(t) = cos^2(pi t / 2) (Nichol & Dhariwal, 2021): t = 0 is clean, t = 1 pure noise.
Noise is isotropic with unit expected norm (N(0, I / D)), the scale of the unit-norm
embeddings it is mixed with.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bench.contracts.randomness import RandomSource, randn

TIME_FREQUENCIES = 16


def alpha_bar(t: torch.Tensor) -> torch.Tensor:
    """Signal fraction of noise level t under the cosine schedule."""
    return torch.cos(0.5 * math.pi * t).square()


def unit_noise(shape: tuple[int, ...], generator: RandomSource, like: torch.Tensor) -> torch.Tensor:
    """Gaussian noise with per-vector expected squared norm 1, drawn from `generator` only.

    The first dimension of `shape` is the batch (each sample's own stream under SampleStreams).
    """
    noise = randn(generator, shape[0], *shape[1:], dtype=like.dtype, device=like.device)
    return noise / math.sqrt(shape[-1])


def diffuse(z: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """z_t = sqrt(alpha_bar) z + sqrt(1 - alpha_bar) noise; t broadcasts over the last dim."""
    signal = alpha_bar(t).unsqueeze(-1)
    return signal.sqrt() * z + (1 - signal).sqrt() * noise


class CrossBlock(nn.Module):
    """Pre-norm cross-attention from the query tokens to the point tokens, then an MLP."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm_query = nn.LayerNorm(width)
        self.norm_memory = nn.LayerNorm(width)
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, width)
        self.norm_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        batch, queries, width = x.shape
        head_dim = width // self.heads
        q = self.q(self.norm_query(x)).view(batch, queries, self.heads, head_dim).transpose(1, 2)
        k, v = (
            self.kv(self.norm_memory(memory))
            .view(batch, memory.shape[1], 2, self.heads, head_dim)
            .permute(2, 0, 3, 1, 4)
        )
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(x.shape)
        x = x + self.proj(attended)
        return x + self.mlp(self.norm_mlp(x))


class FeatureDenoiser(nn.Module):
    """F(z_t, t, H): predicts the clean teacher-space embedding [B, Q, D] from Q noisy copies."""

    frequencies: torch.Tensor  # a buffer, not saved

    def __init__(self, embed_dim: int, token_width: int, width: int, depth: int, heads: int):
        super().__init__()
        self.embed_in = nn.Linear(embed_dim, width)
        self.time = nn.Sequential(
            nn.Linear(2 * TIME_FREQUENCIES, width), nn.GELU(), nn.Linear(width, width)
        )
        self.memory = nn.Linear(token_width, width)
        self.blocks = nn.ModuleList(CrossBlock(width, heads) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, embed_dim))
        frequencies = torch.exp(torch.linspace(0, math.log(1000.0), TIME_FREQUENCIES))
        self.register_buffer("frequencies", frequencies, persistent=False)

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """z_t [B, Q, D], t [B, Q] in [0, 1], point tokens H [B, G, width_H] -> [B, Q, D].

        t may be [1, 1] when every copy shares one level: its embedding is then computed once.
        """
        angles = t.unsqueeze(-1) * self.frequencies
        x = self.embed_in(z_t) + self.time(torch.cat([angles.sin(), angles.cos()], dim=-1))
        memory = self.memory(tokens)
        for block in self.blocks:
            x = block(x, memory)
        return self.out(x)
