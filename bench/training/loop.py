"""The shared training loop of miniature recipes: seeded, batched, with a progress callback.

A recipe (a method's `train`) supplies the model and its loss; this loop owns the optimiser,
schedule, batching and seeding, so every recipe is deterministic for a fixed seed. It runs in
one process or in several under torchrun (`bench.training.distributed`), and with a
`checkpoint` path it saves its whole state after every epoch and resumes from it: model,
optimiser, schedule and random states, so a resumed run ends with the weights of an
uninterrupted one.
"""

from __future__ import annotations

import copy
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.contracts.bounds import SEED, TRAINING_RULES, require
from bench.contracts.errors import NonFiniteError
from bench.contracts.train_context import TrainContext
from bench.storage.atomic import write_bytes_atomic
from bench.training import distributed

log = logging.getLogger(__name__)

# loss(points, labels, sample indices into ctx.data, generator) -> scalar
BatchLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Schedule:
    """Optimiser settings shared by the recipes."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    seed: int

    def __post_init__(self) -> None:  # a recipe may build one from values no Config checked
        require(self, "training", {**TRAINING_RULES, "seed": SEED})


class _Step(torch.nn.Module):
    """One batch's loss as a module's forward, so DistributedDataParallel can wrap it."""

    def __init__(self, model: torch.nn.Module, loss: BatchLoss) -> None:
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, *batch: Any) -> torch.Tensor:
        return self.loss(*batch)


def fit(model: torch.nn.Module, loss: BatchLoss, ctx: TrainContext, schedule: Schedule) -> None:
    """AdamW with a one-cycle schedule over shuffled mini-batches of `ctx.data`."""
    world = distributed.current()
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
    state = {"model": model, "optimizer": optimizer, "scheduler": scheduler}
    start = _resume(ctx.checkpoint, state, generator, ctx.device)
    step = start * batches
    runner = distributed.wrap(_Step(model, loss), world, ctx.device)
    for epoch in range(start, schedule.epochs):
        diverged = torch.zeros((), dtype=torch.bool, device=ctx.device)
        order = torch.randperm(len(labels), generator=generator)
        for b in range(batches):
            index = distributed.shard(
                order[b * schedule.batch_size : (b + 1) * schedule.batch_size], world
            )
            value = runner(
                points[index].to(ctx.device), labels[index].to(ctx.device), index, generator
            )
            optimizer.zero_grad(set_to_none=True)
            diverged |= ~torch.isfinite(value.detach())
            value.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            ctx.progress(step, total)
        if bool(diverged):  # checked once an epoch: a check per step would sync the device
            raise NonFiniteError(
                f"Training diverged in epoch {epoch + 1} of {schedule.epochs} (the loss became"
                f" NaN or infinite at learning rate {schedule.lr:g}): lower method.lr."
            )
        last = epoch + 1 == schedule.epochs
        if ctx.checkpoint is not None and not last and (world is None or world.leads):
            _save(ctx.checkpoint, state, generator, epoch + 1, ctx.device)
    model.eval()


def _save(
    path: Path, state: dict[str, Any], generator: torch.Generator, epoch: int, device: torch.device
) -> None:
    """The loop's whole state after `epoch` epochs, written atomically (tensors and numbers
    only, so it loads with weights_only)."""
    content = {name: part.state_dict() for name, part in state.items()}
    content.update(epoch=epoch, generator=generator.get_state(), rng=torch.get_rng_state())
    if device.type == "cuda":
        content["cuda_rng"] = torch.cuda.get_rng_state(device)
    buffer = io.BytesIO()
    torch.save(content, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def _resume(
    path: Path | None, state: dict[str, Any], generator: torch.Generator, device: torch.device
) -> int:
    """The epoch to start from: where a saved state left off, else 0 (an unreadable or
    mismatched state is set aside and training starts over)."""
    if path is None or not path.is_file():
        return 0
    initial = {name: copy.deepcopy(part.state_dict()) for name, part in state.items()}
    seeded, rng = generator.get_state(), torch.get_rng_state()
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
        for name, part in state.items():
            part.load_state_dict(content[name])
        generator.set_state(content["generator"])
        torch.set_rng_state(content["rng"])
        if device.type == "cuda" and "cuda_rng" in content:
            torch.cuda.set_rng_state(content["cuda_rng"], device)
        epoch = int(content["epoch"])
    except Exception as error:  # a torn or foreign file costs the epochs it held, nothing else
        for name, part in state.items():
            part.load_state_dict(initial[name])
        generator.set_state(seeded)
        torch.set_rng_state(rng)
        path.replace(path.with_suffix(".unreadable"))
        log.warning("Training state %s is unusable (%s); training from the start.", path, error)
        return 0
    log.info("Resuming training from %s after epoch %d.", path, epoch)
    return epoch
