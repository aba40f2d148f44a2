"""The dual-denoising training objective: L = L_con + lambda_rec L_rec + lambda_fd L_fd.

Each batch is augmented; a `corrupt_fraction` of its clouds gets Gaussian point noise of a
per-cloud std drawn from U(0, sigma_max) (and optional patch masking), the rest stays clean, and
all share one backbone pass: a step costs what a ULIP step costs, and over the epochs every
cloud is seen both clean and corrupted.
- L_con: InfoNCE of the refined embedding f(P) and of the backbone estimate y to the teacher's
  class embeddings (plus in-batch image embeddings when the dataset has them, and of y to each
  cloud's caption when the corpus has captions), on clean and corrupted clouds alike, so noisy
  clouds are mapped to clean teacher targets.
- L_rec: per-patch Chamfer between the decoder's reconstruction from corrupted-cloud tokens and
  the clean points of the same patches.
- L_fd: the feature denoiser recovers the teacher embedding z of the sample's class from
  z_t = sqrt(a_t) z + sqrt(1 - a_t) eps at a random level t, attending to the point tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from bench.contracts.train_context import TrainContext
from bench.nn.pointops import gather
from bench.training.distill import LogitScale, augment, caption_loss, contrastive_loss
from bench.training.loop import Schedule, fit
from methods.dual_denoise.config import DualDenoiseConfig
from methods.dual_denoise.decoder import patch_chamfer
from methods.dual_denoise.denoiser import diffuse, unit_noise
from methods.dual_denoise.model import DualDenoiseEncoder


def train_dual_denoise(
    encoder: DualDenoiseEncoder,
    preprocess: Callable[[torch.Tensor], torch.Tensor],
    ctx: TrainContext,
    config: DualDenoiseConfig,
) -> DualDenoiseEncoder:
    """Fit every enabled component jointly; returns the encoder in eval mode."""
    scale = LogitScale()
    model = torch.nn.ModuleDict({"encoder": encoder, "scale": scale})
    images = ctx.data.image_embeddings
    image_table = None if images is None else torch.as_tensor(images).float().to(ctx.device)
    targets = ctx.class_embeddings

    def loss(
        points: torch.Tensor, labels: torch.Tensor, index: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        if config.augment:
            points = augment(points, gen)
        clean = preprocess(points)
        batch_images = None if image_table is None else image_table[index.to(ctx.device)]
        inputs, mask, corrupted = clean, None, 0
        if config.proxy_task:  # batches are shuffled, so the first clouds are a random subset
            corrupted = max(1, round(config.corrupt_fraction * len(clean)))
            noisy = _corrupt(clean[:corrupted], config.sigma_max, gen)
            inputs = torch.cat([noisy, clean[corrupted:]])
            mask = _patch_mask(corrupted, len(clean), config, gen, clean.device)
        tokens, estimate = encoder.features(inputs, mask)
        total = contrastive_loss(estimate, labels, targets, scale(), batch_images)
        total = total + caption_loss(estimate, ctx, index, scale())
        if config.feature_denoiser:
            refined = encoder.refine(tokens, estimate, 1, gen, config.train_copies)[0]
            total = total + contrastive_loss(refined, labels, targets, scale(), batch_images)
            total = total + config.lambda_fd * _denoising_loss(
                encoder, tokens, targets[labels], gen
            )
        if config.proxy_task:
            total = total + config.lambda_rec * _reconstruction_loss(
                encoder, tokens[:corrupted], clean[:corrupted], noisy
            )
        return total

    schedule = Schedule(config.epochs, config.batch_size, config.lr, config.weight_decay, ctx.seed)
    fit(model, loss, ctx, schedule)
    return encoder


def _corrupt(clean: torch.Tensor, sigma_max: float, gen: torch.Generator) -> torch.Tensor:
    """P + sigma eps with sigma ~ U(0, sigma_max) per cloud, on xyz."""
    batch = clean.shape[0]
    sigma = sigma_max * torch.rand(batch, 1, 1, generator=gen)
    noise = sigma * torch.randn(clean[..., :3].shape, generator=gen)
    xyz = clean[..., :3] + noise.to(clean.device)
    return torch.cat([xyz, clean[..., 3:]], dim=-1)


def _patch_mask(
    corrupted: int,
    batch: int,
    config: DualDenoiseConfig,
    gen: torch.Generator,
    device: torch.device,
) -> torch.Tensor | None:
    """[B, G]: `mask_ratio` of the patches of the first `corrupted` clouds, none elsewhere."""
    masked = round(config.mask_ratio * config.num_groups)
    if masked == 0:
        return None
    ranks = torch.rand(corrupted, config.num_groups, generator=gen).argsort(dim=1).argsort(dim=1)
    mask = torch.zeros(batch, config.num_groups, dtype=torch.bool)
    mask[:corrupted] = ranks < masked
    return mask.to(device)


def _denoising_loss(
    encoder: DualDenoiseEncoder, tokens: torch.Tensor, z: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """L_fd at one random noise level per sample: 1 - cos (or MSE) to the clean target."""
    t = torch.rand(len(z), 1, generator=gen).to(z.device)
    z_t = diffuse(z.unsqueeze(1), t, unit_noise((len(z), 1, z.shape[-1]), gen, z))
    predicted = encoder.denoiser(z_t, t, tokens)[:, 0]
    if encoder.config.fd_loss == "mse":
        return (predicted - z).square().sum(dim=-1).mean()
    return (1 - F.cosine_similarity(predicted, z, dim=-1)).mean()


def _reconstruction_loss(
    encoder: DualDenoiseEncoder, tokens: torch.Tensor, clean: torch.Tensor, noisy: torch.Tensor
) -> torch.Tensor:
    """Chamfer between decoded patches of the corrupted cloud and the same patches, clean."""
    centre_idx, neighbour_idx = encoder.backbone.point_encoder.group_indices(noisy)
    xyz = clean[..., :3]
    target = gather(xyz, neighbour_idx) - gather(xyz, centre_idx).unsqueeze(2)
    return patch_chamfer(encoder.decoder(tokens), target)
