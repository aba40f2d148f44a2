"""The absence of a defense: clouds reach the classifier unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.contracts.plugins import DEFENSES, Defense, PluginInfo

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource


@DEFENSES.register("none")
class NoDefense(Defense):
    """Identity: the undefended victim."""

    version = 1
    info = PluginInfo(
        display="none", description="no defense: points reach the classifier as given"
    )

    def apply(self, points: torch.Tensor, generator: RandomSource) -> torch.Tensor:
        return points
