"""The victim: a differentiable zero-shot classifier `points [B, N, C] -> logits [B, K]`.

Logits are `logit_scale * cos(encoder(preprocess(defense(points))), class_embedding)`. The scale
is explicit and recorded, because gradient magnitudes (and so attack step semantics) depend on it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


class Victim(torch.nn.Module):
    """What attacks see: a classifier over the class names it was built for."""

    def __init__(
        self,
        encoder: torch.nn.Module,
        preprocess: Callable[[torch.Tensor], torch.Tensor],
        class_embeddings: torch.Tensor,
        class_names: tuple[str, ...],
        logit_scale: float,
        stochastic: bool = False,
        defense: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if class_embeddings.shape[0] != len(class_names):
            raise ValueError("one class embedding per class name is required")
        self.encoder = encoder.eval()
        self.preprocess = preprocess
        self.register_buffer("class_embeddings", F.normalize(class_embeddings.float(), dim=-1))
        self.class_names = class_names
        self.logit_scale = float(logit_scale)
        self.stochastic = stochastic
        self.defense = defense
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)

    def embed(self, points: torch.Tensor) -> torch.Tensor:
        """Unit-norm embedding of (defended, preprocessed) clouds."""
        if self.defense is not None:
            points = self.defense(points)
        return F.normalize(self.encoder(self.preprocess(points)), dim=-1)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.logit_scale * self.embed(points) @ self.class_embeddings.T
