"""What an attack may call on the classifier it attacks: the victim's interface.

Attacks are written against this Protocol only; the harness's implementation
(`bench.evaluation.victim.ZeroShotVictim`) adds what the evaluation needs around it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

import torch


class Victim(Protocol):
    """A differentiable classifier `points [B, N, C] -> logits [B, K]` over `class_names`.

    A stochastic victim (a noisy forward pass or a randomized defense) gives other logits at
    every call: `sample` returns several draws at once, `vote` their majority.
    """

    class_names: tuple[str, ...]
    logit_scale: float
    stochastic: bool

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """Logits [B, K] of one draw."""
        ...

    def sample(self, points: torch.Tensor, draws: int) -> torch.Tensor:
        """Logits [draws, B, K] of independent draws (one draw if deterministic)."""
        ...

    def vote(self, points: torch.Tensor, draws: int) -> torch.Tensor:
        """The majority prediction [B] over `draws` fresh draws."""
        ...

    def confirm(
        self, points: torch.Tensor, classes: torch.Tensor, targeted: bool, success: torch.Tensor
    ) -> torch.Tensor:
        """`success` [B] kept only where a fresh majority vote agrees (stochastic victims)."""
        ...

    def rows(self, index: torch.Tensor) -> AbstractContextManager[None]:
        """Calls inside are on these rows of the current batch only."""
        ...
