"""The shared training loop of miniature recipes: seeded, batched, with a progress callback.

A recipe (a method's `train`) supplies the model and its loss; this loop owns the optimiser,
schedule, batching and seeding, so every recipe is deterministic for a fixed seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from bench.contracts.runtime import Progress
from bench.datasets.cloudset import CloudSet

# loss(points, labels, sample indices into ctx.data, generator) -> scalar
BatchLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


@dataclass
class TrainContext:
    """What a recipe gets: the training corpus, the teacher's class embeddings, where to run,
    and the seed of everything random in training (initial weights, batches, augmentation).
    """

    data: CloudSet
    class_embeddings: torch.Tensor  # [K, D] unit-norm teacher embeddings of data.class_names
    device: torch.device
    progress: Progress
    seed: int = 0
    # Caption supervision (ULIP-2 / OpenShape style), when the corpus text source has captions:
    # each cloud's row in a table of its corpus's distinct captions, and that table's embeddings.
    caption_ids: torch.Tensor | None = None  # [M] long
    caption_embeddings: torch.Tensor | None = None  # [U, D] unit-norm


@dataclass(frozen=True)
class Schedule:
    """Optimiser settings shared by the recipes."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    seed: int


def fit(model: torch.nn.Module, loss: BatchLoss, ctx: TrainContext, schedule: Schedule) -> None:
    """AdamW with a one-cycle schedule over shuffled mini-batches of `ctx.data`."""
    torch.manual_seed(schedule.seed)
    generator = torch.Generator(device="cpu").manual_seed(schedule.seed)
    points = torch.from_numpy(np.ascontiguousarray(ctx.data.points))
    labels = torch.from_numpy(np.ascontiguousarray(ctx.data.labels))
    batches = max(1, len(labels) // schedule.batch_size)
    total = schedule.epochs * batches
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=schedule.lr,
        weight_decay=schedule.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=schedule.lr, total_steps=total, pct_start=0.1
    )
    model.to(ctx.device).train()
    step = 0
    for _ in range(schedule.epochs):
        order = torch.randperm(len(labels), generator=generator)
        for b in range(batches):
            index = order[b * schedule.batch_size : (b + 1) * schedule.batch_size]
            value = loss(
                points[index].to(ctx.device), labels[index].to(ctx.device), index, generator
            )
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            ctx.progress(step, total)
    model.eval()
