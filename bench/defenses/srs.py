"""Simple random sampling (SRS): drop a random subset of the points before classifying."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.contracts.bounds import integer, require
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import DEFENSES, Defense, PluginInfo

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource


@dataclass(frozen=True)
class SRSConfig:
    """`drop` points removed uniformly at random, without replacement, from every cloud."""

    drop: int = 500

    def __post_init__(self) -> None:
        require(self, "srs", {"drop": integer(0, 1_000_000)})


@DEFENSES.register("srs")
class SRS(Defense[SRSConfig]):
    """Drop `drop` points uniformly at random per cloud and call; the survivors keep their order.

    Default 500 of 1024 points, the setting of IF-Defense (`baselines/defense/drop_points/SRS.py`,
    `--srs_drop_num 500`) and SI-Adv. The subset is drawn afresh at every call from the victim's
    noise stream, so the victim is stochastic: its predictions are majority votes and attacks
    average their gradients over subsets (EOT). The reference wraps the drop in `no_grad`;
    here gradients flow to the surviving points, which is the exact gradient for the drawn
    subset, so no BPDA surrogate is needed.
    """

    Config = SRSConfig
    version = 1
    randomized = True
    smoke = SRSConfig(drop=100)  # the conformance clouds have 256 points
    info = PluginInfo(
        display="SRS",
        description="simple random sampling: drop random points at every call (randomized)",
        cite="Yang et al., Adversarial Attack and Defense on Point Sets, arXiv:1902.10899, 2019",
    )

    def apply(self, points: torch.Tensor, generator: RandomSource) -> torch.Tensor:
        from bench.contracts.randomness import rand
        from bench.nn.pointops import gather

        batch, count, _ = points.shape
        if self.config.drop >= count:
            raise ConfigError(
                f"srs.drop={self.config.drop} would leave no points of {count}-point clouds."
            )
        scores = rand(generator, batch, count, device=points.device)
        keep = scores.argsort(dim=1)[:, self.config.drop :].sort(dim=1).values
        return gather(points, keep)
