"""PointDP's diffusion model as an auxiliary recipe; torch is imported only to build or train it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.auxiliary.recipe import FittedRecipe

if TYPE_CHECKING:
    import torch

    from bench.auxiliary.fitting import BatchLoss


@dataclass(frozen=True)
class DiffusionRecipe(FittedRecipe):
    """The miniature point diffusion model (`bench.auxiliary.point_diffusion`): Luo and Hu's
    schedule (`steps` 100, beta to 0.02), trained on the DDPM noise objective with Adam."""

    name: ClassVar[str] = "diffusion"
    version: ClassVar[int] = 1

    width: int = 128
    steps: int = 100
    beta_max: float = 0.02
    epochs: int = 20
    batch: int = 32
    lr: float = 1e-3

    def build(self, points: int) -> torch.nn.Module:
        from bench.auxiliary.point_diffusion import PointDenoiser

        return PointDenoiser(self.width, self.steps, self.beta_max)

    def loss(self) -> BatchLoss:
        from bench.auxiliary.point_diffusion import noise_loss

        return noise_loss
