"""The dual-denoising encoder: backbone, proxy-task decoder, feature denoiser, parallel inference.

`forward` is the zero-shot embedding f(P): the backbone's projected estimate y, refined by the
feature denoiser from K noisy copies batched in one pass and averaged. With `draws=E` it returns
E independent such embeddings from one backbone pass, which is what EOT attacks and majority
votes need. The decoder is used only in training but kept in the state dict, so cached weights
always load strictly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bench.contracts.randomness import RandomSource
from bench.nn.backbone import PointBertEncoder, point_bert_config
from methods.dual_denoise.config import DualDenoiseConfig
from methods.dual_denoise.decoder import PatchDecoder
from methods.dual_denoise.denoiser import FeatureDenoiser, alpha_bar, unit_noise


class DualDenoiseEncoder(nn.Module):
    """Preprocessed points [B, N, 3] -> teacher-space embeddings [B, D] (or [E, B, D])."""

    def __init__(self, config: DualDenoiseConfig, embed_dim: int) -> None:
        super().__init__()
        self.config = config
        self.backbone = PointBertEncoder(point_bert_config(config, embed_dim))
        if config.proxy_task:
            self.decoder = PatchDecoder(config.width, config.decoder_width, config.group_size)
            self.mask_token = nn.Parameter(torch.zeros(config.width))
        if config.feature_denoiser:
            self.denoiser = FeatureDenoiser(
                embed_dim, config.width, config.fd_width, config.fd_depth, config.fd_heads
            )

    def features(
        self, points: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Point tokens H [B, G, width] and the projected estimate y [B, D].

        `mask` [B, G] replaces the tokens of masked patches by a learned mask token (training).
        """
        point_encoder = self.backbone.point_encoder
        tokens, centres = point_encoder.embed(points)
        if mask is not None:
            tokens = torch.where(mask.unsqueeze(-1), self.mask_token.to(tokens.dtype), tokens)
        group_tokens, pooled = point_encoder.encode(tokens, centres)
        return group_tokens, pooled @ self.backbone.pc_projection

    def refine(
        self,
        tokens: torch.Tensor,
        estimate: torch.Tensor,
        draws: int,
        generator: RandomSource,
        copies: int | None = None,
    ) -> torch.Tensor:
        """Parallel noise inference: [draws, B, D], each the normalised mean over K copies.

        `copies` overrides K (training uses its own count, so K stays an inference setting).
        """
        c = self.config
        per_draw = copies or c.copies
        batch, dim = estimate.shape
        copies = draws * per_draw
        if c.noise == "fixed":  # one noise set for every sample and call: independent of batching
            fixed = torch.Generator(device=estimate.device).manual_seed(c.noise_seed)
            noise = unit_noise((copies, dim), fixed, estimate).expand(batch, -1, -1)
        else:
            noise = unit_noise((batch, copies, dim), generator, estimate)
        t = torch.full((1, 1), c.t_star, dtype=estimate.dtype, device=estimate.device)
        signal = float(alpha_bar(torch.tensor(c.t_star)))
        if c.init_from == "noise":
            start = noise
        else:
            sigma = math.sqrt(1 - signal) if c.sigma_f is None else c.sigma_f
            start = math.sqrt(signal) * F.normalize(estimate, dim=-1).unsqueeze(1) + sigma * noise
        denoised = self.denoiser(start, t, tokens)
        mean = denoised.view(batch, draws, per_draw, dim).mean(dim=2)
        return F.normalize(mean, dim=-1).transpose(0, 1)

    def forward(
        self,
        points: torch.Tensor,
        generator: RandomSource = None,
        draws: int | None = None,
    ) -> torch.Tensor:
        tokens, estimate = self.features(points)
        if not self.config.feature_denoiser:
            return estimate if draws is None else estimate.expand(draws, -1, -1)
        refined = self.refine(tokens, estimate, draws or 1, generator)
        return refined[0] if draws is None else refined
