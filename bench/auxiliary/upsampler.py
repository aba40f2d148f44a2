"""DUP-Net's upsampler as an auxiliary recipe; torch is imported only to build or train it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.auxiliary.recipe import FittedRecipe

if TYPE_CHECKING:
    import torch

    from bench.auxiliary.fitting import BatchLoss


@dataclass(frozen=True)
class UpsamplerRecipe(FittedRecipe):
    """The miniature upsampler (`bench.auxiliary.point_upsampler`): `ratio` points out per point
    in, offsets from `k` neighbours, trained with Adam to rebuild whole clouds from 1/ratio of
    their points."""

    name: ClassVar[str] = "upsampler"
    version: ClassVar[int] = 1

    ratio: int = 2
    width: int = 64
    k: int = 16
    epochs: int = 5
    batch: int = 32
    lr: float = 1e-3

    def build(self, points: int) -> torch.nn.Module:
        from bench.auxiliary.point_upsampler import PointUpsampler

        return PointUpsampler(self.ratio, self.width, self.k)

    def loss(self) -> BatchLoss:
        from bench.auxiliary.point_upsampler import rebuilding_loss

        return rebuilding_loss
