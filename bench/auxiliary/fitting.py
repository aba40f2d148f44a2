"""The training loop every auxiliary network shares: seeded weights, shuffled batches, Adam."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from bench.contracts.runtime import Progress

# A network's loss on one batch of clouds [b, N, 3], drawing any noise from the generator.
BatchLoss = Callable[[torch.nn.Module, torch.Tensor, torch.Generator], torch.Tensor]


class Schedule(NamedTuple):
    epochs: int
    batch: int
    lr: float


def seeded(
    build: Callable[[], torch.nn.Module], seed: int, device: torch.device
) -> torch.nn.Module:
    """The network `build` makes, its initial weights drawn from `seed` (the process's global
    generator is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build().to(device)


def fit(
    model: torch.nn.Module,
    clouds: torch.Tensor,
    loss: BatchLoss,
    schedule: Schedule,
    seed: int,
    progress: Progress,
) -> torch.nn.Module:
    """`model` trained on `clouds` [M, N, 3] to minimise `loss`, with Adam, in batches
    shuffled, like every draw of the loss, by a generator seeded by `seed`."""
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=schedule.lr)
    batches = -(-len(clouds) // schedule.batch)
    for epoch in range(schedule.epochs):
        shuffled = torch.randperm(len(clouds), generator=generator).to(clouds.device)
        total = 0.0
        for start in range(0, len(clouds), schedule.batch):
            value = loss(model, clouds[shuffled[start : start + schedule.batch]], generator)
            optimiser.zero_grad(set_to_none=True)
            value.backward()
            optimiser.step()
            total += value.item()
        progress(epoch + 1, schedule.epochs, f"loss {total / batches:.5f}")
    return model
