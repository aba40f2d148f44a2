"""DUP-Net (Zhou et al.): statistical outlier removal, then a learned upsampler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.auxiliary.upsampler import UpsamplerRecipe
from bench.contracts.bounds import FLAG, integer, number, require
from bench.contracts.plugins import DEFENSES, Defense, PluginInfo
from bench.defenses.sor import SOR, SORConfig

if TYPE_CHECKING:
    import torch

    from bench.contracts.auxiliary import AuxiliaryModel
    from bench.contracts.randomness import RandomSource


@dataclass(frozen=True)
class DUPNetConfig:
    """DUP-Net settings: SOR's `k` and `alpha`, and the upsampler's `ratio`; `bpda: false`
    gives attacks no gradient through the defense (a deliberately naive evaluation)."""

    k: int = 2
    alpha: float = 1.1
    ratio: int = 2
    bpda: bool = True

    def __post_init__(self) -> None:
        require(
            self,
            "dup_net",
            {
                "k": integer(1, 1_024),
                "alpha": number(-100, 100),
                "ratio": integer(2, 16),
                "bpda": FLAG,
            },
        )


@DEFENSES.register("dup_net")
class DUPNet(Defense[DUPNetConfig]):
    """Zhou et al.'s DUP-Net: SOR removes outliers (the "denoiser"), an upsampler then adds
    `ratio` points per point, so the victim sees a denser cloud of the surface.

    SOR is the `sor` defense (k 2, alpha 1.1 on mean squared neighbour distances, removed
    slots refilled with their nearest kept point: IF-Defense's DUP-Net settings). The upsampler
    is the harness's miniature in PU-Net's spirit (`bench.auxiliary.point_upsampler`), trained by
    the cell on the victim's corpus to rebuild whole clouds from half their points, cached by
    content hash; its training is part of the cell's identity. DUP-Net's PU-Net was trained on
    its own mesh patches, and IF-Defense's upsamples by 4; `ratio` 2 keeps the victim's cost
    at twice the points.

    Attacked adaptively: SOR is a hard selection, so attacks follow the BPDA surrogate that
    skips SOR (straight through) and differentiates the upsampler on the undefended cloud; the
    forward pass is the real defense. The cell also runs the attack crafted on the undefended
    victim (defense-unaware) and keeps each sample's worst case.
    """

    Config = DUPNetConfig
    version = 1
    differentiable = False
    info = PluginInfo(
        display="DUP-Net",
        description="SOR, then a learned upsampler (BPDA through SOR, gradients through it)",
        cite="Zhou et al., DUP-Net: Denoiser and Upsampler Network for 3D Adversarial Point"
        " Clouds Defense, ICCV 2019",
    )

    def auxiliary_model(self) -> AuxiliaryModel:
        return UpsamplerRecipe(ratio=self.config.ratio)

    def apply(self, points: torch.Tensor, generator: RandomSource) -> torch.Tensor:
        from bench.auxiliary.point_upsampler import upsample

        sor = SOR(SORConfig(k=self.config.k, alpha=self.config.alpha))
        cleaned = sor.apply(points, generator)
        return upsample(self.bound_auxiliary("dup_net"), cleaned)

    def surrogate(self, points: torch.Tensor, defended: torch.Tensor) -> torch.Tensor:
        """The defended clouds forward; backward, the upsampler's gradient on the undefended
        ones (SOR taken as the identity)."""
        from bench.auxiliary.point_upsampler import upsample

        approximate = upsample(self.bound_auxiliary("dup_net"), points)
        return approximate + (defended - approximate).detach()
