"""Adam on one tensor, for the attacks that minimise a per-sample objective by it."""

from __future__ import annotations

import torch


class Adam:
    """Adam (Kingma and Ba: betas 0.9 and 0.999, epsilon 1e-8) on one tensor, written out:
    `torch.optim`'s first step imports the compiler stack, seconds of start-up on a CPU."""

    def __init__(self, like: torch.Tensor, lr: float) -> None:
        self.lr = lr
        self.mean = torch.zeros_like(like)
        self.square = torch.zeros_like(like)
        self.count = 0

    def step(self, value: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
        """`value` after one descent step along `gradient`."""
        self.count += 1
        self.mean.mul_(0.9).add_(gradient, alpha=0.1)
        self.square.mul_(0.999).addcmul_(gradient, gradient, value=0.001)
        mean = self.mean / (1 - 0.9**self.count)
        scale = (self.square / (1 - 0.999**self.count)).sqrt().add_(1e-8)
        return value - self.lr * mean / scale
