"""What the built-in auxiliary recipes share: Adam on one batch loss, with seeded weights."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING

from bench.contracts.auxiliary import AuxiliaryModel

if TYPE_CHECKING:
    import torch

    from bench.auxiliary.fitting import BatchLoss
    from bench.contracts.runtime import Progress


class FittedRecipe(AuxiliaryModel):
    """A recipe trained by `bench.auxiliary.fitting.fit` on its `loss`; subclasses (frozen
    dataclasses) declare the `epochs`, `batch` and `lr` fields, with their defaults."""

    epochs: int  # annotations only: each recipe's dataclass declares the fields
    batch: int
    lr: float

    @abstractmethod
    def loss(self) -> BatchLoss:
        """The network's loss on one batch of clouds."""

    def train(
        self, clouds: torch.Tensor, seed: int, device: torch.device, progress: Progress
    ) -> torch.nn.Module:
        from bench.auxiliary.fitting import Schedule, fit, seeded

        model = seeded(lambda: self.build(clouds.shape[1]), seed, device)
        schedule = Schedule(self.epochs, self.batch, self.lr)
        return fit(model, clouds.to(device), self.loss(), schedule, seed, progress)
