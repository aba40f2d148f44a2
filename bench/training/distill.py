"""Contrastive distillation of a point encoder into a frozen teacher space (ULIP's objective).

Point embeddings are pulled toward the teacher text embedding of their class with InfoNCE over
the class vocabulary (on a labelled set, in-batch text negatives would include false negatives
whenever a batch holds two clouds of one class), toward their own caption among the corpus's
distinct captions when it has them, and toward teacher image embeddings with in-batch InfoNCE
when the dataset provides them. The temperature is learnable, initialised at
0.07 and clamped at 1/100, as in CLIP and ULIP.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from bench.contracts.train_context import TrainContext
from bench.training.loop import Schedule, fit

MAX_LOGIT_SCALE = math.log(100.0)


class LogitScale(torch.nn.Module):
    """CLIP's learnable inverse temperature, stored as a log."""

    def __init__(self) -> None:
        super().__init__()
        self.log_scale = torch.nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(max=MAX_LOGIT_SCALE).exp()


def augment(points: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random anisotropic scaling, a small shift and jitter of xyz (rgb untouched)."""
    batch, count = points.shape[:2]
    device = points.device

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return (low + (high - low) * torch.rand(*shape, generator=generator)).to(device)

    xyz = points[..., :3] * uniform(0.8, 1.25, batch, 1, 3) + uniform(-0.1, 0.1, batch, 1, 3)
    xyz = xyz + 0.01 * torch.randn(batch, count, 3, generator=generator).to(device)
    return torch.cat([xyz, points[..., 3:]], dim=-1)


def contrastive_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    class_embeddings: torch.Tensor,
    scale: torch.Tensor,
    image_embeddings: torch.Tensor | None = None,
) -> torch.Tensor:
    """InfoNCE to the class text embeddings, plus symmetric in-batch InfoNCE to images if given."""
    z = F.normalize(embeddings, dim=-1)
    loss = F.cross_entropy(scale * z @ class_embeddings.T, labels)
    if image_embeddings is not None:
        logits = scale * z @ F.normalize(image_embeddings, dim=-1).T
        targets = torch.arange(len(z), device=z.device)
        loss = loss + (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2
    return loss


def caption_loss(
    embeddings: torch.Tensor, ctx: TrainContext, index: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """InfoNCE of each cloud to its own caption among all distinct captions of the corpus.

    Zero when the corpus has no captions. Clouds that share a caption share a target, so no
    identical caption is ever a negative (the false-negative problem of in-batch captions).
    """
    if ctx.caption_ids is None or ctx.caption_embeddings is None:
        return embeddings.new_zeros(())
    z = F.normalize(embeddings, dim=-1)
    logits = scale * z @ ctx.caption_embeddings.T
    return F.cross_entropy(logits, ctx.caption_ids[index.to(ctx.caption_ids.device)])


def train_contrastive(
    encoder: torch.nn.Module,
    preprocess: Callable[[torch.Tensor], torch.Tensor],
    ctx: TrainContext,
    schedule: Schedule,
    use_augment: bool = True,
) -> torch.nn.Module:
    """Fit `encoder(preprocess(points))` to the teacher; returns the encoder in eval mode."""
    scale = LogitScale()
    model = torch.nn.ModuleDict({"encoder": encoder, "scale": scale})
    images = ctx.data.image_embeddings
    image_table = None if images is None else torch.as_tensor(images).float().to(ctx.device)

    def loss(
        points: torch.Tensor, labels: torch.Tensor, index: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        if use_augment:
            points = augment(points, gen)
        batch_images = None if image_table is None else image_table[index.to(ctx.device)]
        z = encoder(preprocess(points))
        value = contrastive_loss(z, labels, ctx.class_embeddings, scale(), batch_images)
        return value + caption_loss(z, ctx, index, scale())

    fit(model, loss, ctx, schedule)
    return encoder
