"""Auxiliary models: networks an attack or defense needs trained on the victim's corpus.

AdvPC attacks through a point-cloud autoencoder, DUP-Net defends with an upsampler, PointDP
with a diffusion model. None of them ships weights that fit a miniature's clouds, so the
harness trains each on the corpus the victim was trained on, with the cell's seed, and caches
it by the content hash of that training, as it does the miniatures. Its training identity is
part of every cell that uses it.

A recipe is a frozen dataclass subclassing `AuxiliaryModel`: its fields are its
hyperparameters, `name` and `version` (bumped whenever the trained weights would change) name
it. An attack or defense returns one from `auxiliary_model()`; the cell trains or loads it and
hands the trained module to the plugin's `bind_auxiliary` before the plugin runs.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch

    from bench.contracts.runtime import Progress


@dataclass(frozen=True)
class AuxiliaryModel(ABC):
    """A recipe: how to build and train one auxiliary network (fields: its hyperparameters)."""

    name: ClassVar[str]
    version: ClassVar[int]

    @abstractmethod
    def build(self, points: int) -> torch.nn.Module:
        """The untrained network for clouds of `points` points (xyz only)."""

    @abstractmethod
    def train(
        self, clouds: torch.Tensor, seed: int, device: torch.device, progress: Progress
    ) -> torch.nn.Module:
        """The network trained on `clouds` [M, N, 3], everything random seeded by `seed`."""

    def identity(self) -> dict[str, Any]:
        """What its trained weights depend on, besides the corpus and the seed."""
        return {"name": self.name, "version": self.version, "config": dataclasses.asdict(self)}

    def label(self) -> str:
        return f"{self.name} v{self.version}"


class UsesAuxiliary:
    """What an attack or defense with an auxiliary model has: the recipe it needs, and the
    trained module once the cell (or a test) has bound it."""

    auxiliary: torch.nn.Module | None = None

    def auxiliary_model(self) -> AuxiliaryModel | None:
        """The recipe this plugin needs trained, or None (the default) for none."""
        return None

    def bind_auxiliary(self, module: torch.nn.Module) -> None:
        """Hand the trained auxiliary network to the plugin (before it runs), frozen: attacks
        differentiate it with respect to its input only, and a `backward()` through it would
        otherwise accumulate weight gradients at every step."""
        self.auxiliary = module.requires_grad_(False)

    def bound_auxiliary(self, plugin: str) -> torch.nn.Module:
        """The bound network; one sentence when nothing bound it."""
        from bench.contracts.errors import ConfigError

        if self.auxiliary is None:
            recipe = self.auxiliary_model()
            raise ConfigError(
                f"{plugin} needs its trained {recipe.name if recipe else 'auxiliary'} network:"
                " run it in a cell (bench run), which trains it on the victim's corpus, or call"
                " bind_auxiliary with one."
            )
        return self.auxiliary
