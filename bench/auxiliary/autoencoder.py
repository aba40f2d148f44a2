"""AdvPC's autoencoder as an auxiliary recipe; torch is imported only to build or train it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.auxiliary.recipe import FittedRecipe

if TYPE_CHECKING:
    import torch

    from bench.auxiliary.fitting import BatchLoss


@dataclass(frozen=True)
class AutoencoderRecipe(FittedRecipe):
    """The miniature point autoencoder (`bench.auxiliary.point_autoencoder`): its widths, and
    its Chamfer training with Adam."""

    name: ClassVar[str] = "autoencoder"
    version: ClassVar[int] = 1

    width: int = 128
    code: int = 128
    epochs: int = 10
    batch: int = 32
    lr: float = 1e-3

    def build(self, points: int) -> torch.nn.Module:
        from bench.auxiliary.point_autoencoder import PointAutoencoder

        return PointAutoencoder(points, self.width, self.code)

    def loss(self) -> BatchLoss:
        from bench.auxiliary.point_autoencoder import reconstruction_loss

        return reconstruction_loss
