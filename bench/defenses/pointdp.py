"""PointDP (Sun et al.): purify a cloud by noising it part-way and denoising it with a
diffusion model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.auxiliary.diffusion import DiffusionRecipe
from bench.contracts.bounds import integer, one_of, require
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import DEFENSES, Defense, PluginInfo

if TYPE_CHECKING:
    import torch

    from bench.contracts.auxiliary import AuxiliaryModel
    from bench.contracts.randomness import RandomSource

CHAINS = ("full", "bpda")


@dataclass(frozen=True)
class PointDPConfig:
    """PointDP settings: the purification `step` (of the model's 100) and what gradient attacks
    get: through the whole reverse chain ("full") or straight through it ("bpda")."""

    step: int = 5
    gradient: str = "full"

    def __post_init__(self) -> None:
        require(self, "pointdp", {"step": integer(1, 1_000), "gradient": one_of(*CHAINS)})


@DEFENSES.register("pointdp")
class PointDP(Defense[PointDPConfig]):
    """Sun et al.'s PointDP at miniature scale: each call noises the cloud to diffusion step
    `step` and runs the reverse chain back to step 0 with the harness's point diffusion model
    (`bench.auxiliary.point_diffusion`), trained by the cell on the victim's corpus and cached
    by content hash (its training is part of the cell's identity).

    Randomized: every call draws fresh diffusion noise from the victim's per-sample streams, so
    predictions are majority votes and attacks average their gradients over draws (EOT).
    Attacked adaptively: `gradient: full` (the default) differentiates the whole truncated
    chain (`step` denoiser passes per query: the adaptive attack's cost grows with it);
    `gradient: bpda` takes the chain as the identity backward (cheaper, and weaker where the
    chain's Jacobian is far from the identity). The cell also runs the attack crafted on the
    undefended victim (defense-unaware) and keeps each sample's worst case. PointDP purifies
    with Luo and Hu's model trained on ShapeNet/ModelNet40; the miniature here purifies coarsely
    (its docstring says why), so its clean accuracy is part of what it reports.
    """

    Config = PointDPConfig
    version = 1
    randomized = True
    info = PluginInfo(
        display="PointDP",
        description="diffusion purification: noise to a step, denoise back (EOT, full chain)",
        cite="Sun et al., Critical Evaluation of Adversarial Robustness for 3D Point Cloud"
        " Recognition Using Diffusion-Driven Purification (PointDP), ICML 2023",
    )

    def auxiliary_model(self) -> AuxiliaryModel:
        return DiffusionRecipe()

    def apply(self, points: torch.Tensor, generator: RandomSource) -> torch.Tensor:
        import torch

        from bench.auxiliary.point_diffusion import purify

        model = self.bound_auxiliary("pointdp")
        steps = len(getattr(model, "betas", ())) - 1
        if self.config.step > steps:
            raise ConfigError(f"pointdp.step={self.config.step} exceeds the model's {steps} steps.")
        if self.config.gradient == "full":
            return purify(model, points, self.config.step, generator)
        with torch.no_grad():
            purified = purify(model, points.detach(), self.config.step, generator)
        return points + (purified - points).detach()
