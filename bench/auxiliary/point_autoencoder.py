"""A miniature point-cloud autoencoder (Achlioptas et al.'s layout), AdvPC's auxiliary network."""

from __future__ import annotations

import torch

from bench.adversarial.distances import nearest_squared


class PointAutoencoder(torch.nn.Module):
    """A shared per-point MLP, max-pooled into a code; a fully connected decoder back to
    `points` xyz points. Achlioptas et al. (Learning Representations and Generative Models for
    3D Point Clouds, ICML 2018) use 3-64-128-128-256 and a 128-wide code; this is that layout
    narrowed to what a few CPU minutes can train."""

    def __init__(self, points: int, width: int, code: int) -> None:
        super().__init__()
        self.points = points
        self.encoder = torch.nn.Sequential(
            torch.nn.Linear(3, width // 2),
            torch.nn.ReLU(),
            torch.nn.Linear(width // 2, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, code),
        )
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(code, 2 * width),
            torch.nn.ReLU(),
            torch.nn.Linear(2 * width, 2 * width),
            torch.nn.ReLU(),
            torch.nn.Linear(2 * width, 3 * points),
        )

    def forward(self, xyz: torch.Tensor) -> torch.Tensor:
        """Reconstructions [B, points, 3] of clouds [B, N, 3] (any N)."""
        code = self.encoder(xyz).amax(dim=1)
        return self.decoder(code).view(len(xyz), self.points, 3)


def chamfer(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Symmetric Chamfer [B]: the mean squared nearest distance, both ways."""
    there = nearest_squared(reconstruction, target).mean(dim=1)
    back = nearest_squared(target, reconstruction).mean(dim=1)
    return there + back


def reconstruction_loss(
    model: torch.nn.Module, clouds: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """The mean Chamfer distance of the reconstructions of `clouds` (draws nothing)."""
    return chamfer(model(clouds), clouds).mean()
