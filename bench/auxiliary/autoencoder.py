"""AdvPC's autoencoder as an auxiliary recipe; torch is imported only to build or train it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from bench.contracts.auxiliary import AuxiliaryModel

if TYPE_CHECKING:
    import torch

    from bench.contracts.runtime import Progress


@dataclass(frozen=True)
class AutoencoderRecipe(AuxiliaryModel):
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

    def train(
        self, clouds: torch.Tensor, seed: int, device: torch.device, progress: Progress
    ) -> torch.nn.Module:
        import torch

        from bench.auxiliary.point_autoencoder import PointAutoencoder, train_autoencoder

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.build(clouds.shape[1]).to(device)
        assert isinstance(model, PointAutoencoder)
        schedule = (self.epochs, self.batch, self.lr)
        return train_autoencoder(model, clouds.to(device), schedule, seed, progress)
