"""Dual denoising (Luo, Qu & Gao): robust 3D pre-training plus feature denoising, reconstructed.

The authors published no code, configs or weights; this plugin is our reconstruction from the
paper's abstract, written to the specification in the project docs
(`docs/dual_denoise.md`). Every component can be switched off or re-parameterised from the
config (`methods.dual_denoise.config`), so the paper's exact choices can be plugged in once known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from bench.contracts.plugins import METHODS, Method, PluginInfo
from methods.dual_denoise.config import DualDenoiseConfig

if TYPE_CHECKING:
    import torch

    from bench.contracts.train_context import TrainContext
    from methods.dual_denoise.model import DualDenoiseEncoder


@METHODS.register("dual_denoise")
class DualDenoise(Method[DualDenoiseConfig]):
    """Reconstruction of dual denoising: a denoising proxy task in pre-training, and a
    cross-attention feature denoiser in the teacher space with parallel noise inference.

    Stochastic by default (fresh noise at every forward pass), so attacks use EOT; with
    `noise=fixed` the same noise is used at every call, a deterministic reference variant.
    """

    Config = DualDenoiseConfig
    version = 1
    # Inference-time settings: changing them reuses the trained weights.
    inference_only: ClassVar[frozenset[str]] = frozenset({"copies", "noise", "noise_seed"})
    smoke = DualDenoiseConfig(
        num_points=256,
        num_groups=16,
        group_size=16,
        depth=1,
        fd_depth=1,
        copies=2,
        train_copies=2,
        epochs=1,
    )
    info = PluginInfo(
        display="Dual denoising (reconstruction)",
        description="Reconstruction from the abstract (no official code): denoising proxy task"
        " + cross-attention feature denoiser with parallel noise inference",
        cite="Luo, Qu & Gao, Learning Robust 3D Representation from CLIP via Dual Denoising,"
        " arXiv:2407.00905 (reconstruction; the authors released no code)",
        url="https://arxiv.org/abs/2407.00905",
    )

    @property
    def stochastic(self) -> bool:
        return self.config.stochastic

    def build_encoder(self, embed_dim: int) -> DualDenoiseEncoder:
        from methods.dual_denoise.model import DualDenoiseEncoder

        return DualDenoiseEncoder(self.config, embed_dim)

    def preprocess(self, points: torch.Tensor) -> torch.Tensor:
        from bench.nn.preprocess import match_channels, match_count

        return match_count(match_channels(points, 3), self.config.num_points)

    def train(self, ctx: TrainContext) -> torch.nn.Module:
        import torch

        from methods.dual_denoise.recipe import train_dual_denoise

        torch.manual_seed(ctx.seed)  # initial weights are part of the recipe
        encoder = self.build_encoder(ctx.class_embeddings.shape[1])
        return train_dual_denoise(encoder, self.preprocess, ctx, self.config)
