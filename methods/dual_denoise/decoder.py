"""The denoising proxy task's decoder: each patch token reconstructs its clean points.

A light MLP maps the token of a patch of the corrupted cloud to `group_size` points around the
patch centre; the loss is the Chamfer distance to the clean points of that patch (squared,
symmetric, averaged over both directions and all patches).
"""

from __future__ import annotations

import torch
from torch import nn


class PatchDecoder(nn.Module):
    """Token [B, G, width] -> reconstructed patch [B, G, k, 3], relative to the patch centre."""

    def __init__(self, token_width: int, hidden: int, group_size: int) -> None:
        super().__init__()
        self.group_size = group_size
        self.mlp = nn.Sequential(
            nn.Linear(token_width, hidden), nn.GELU(), nn.Linear(hidden, 3 * group_size)
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.mlp(tokens).unflatten(-1, (self.group_size, 3))


def patch_chamfer(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean symmetric squared Chamfer distance between patch sets [B, G, k, 3]."""
    # The difference form: exact, and with a finite gradient where a distance is zero.
    differences = predicted.flatten(0, 1).unsqueeze(2) - target.flatten(0, 1).unsqueeze(1)
    distances = differences.square().sum(dim=-1)
    return (distances.amin(dim=2).mean() + distances.amin(dim=1).mean()) / 2
