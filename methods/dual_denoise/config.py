"""The dual-denoising configuration: every component has a switch, every choice is a number.

Ablations are config changes: `proxy_task=false` (no corruption, no reconstruction),
`feature_denoiser=false` (classify with the backbone's projection), `copies=1` (no parallel
noise inference), noise levels and loss weights. The defaults are our reconstruction's choices;
the paper's own values are unpublished.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.contracts.errors import ConfigError

INIT_FROM = ("estimate", "noise")
NOISE_MODES = ("random", "fixed")
FD_LOSSES = ("cosine", "mse")


@dataclass(frozen=True)
class DualDenoiseConfig:
    # Input pipeline.
    num_points: int = 1024
    # Miniature Point-BERT backbone (the same size as the `ulip` miniature, for a fair comparison).
    num_groups: int = 32
    group_size: int = 32
    width: int = 128
    depth: int = 4
    heads: int = 4
    encoder_dims: int = 128
    encoder_widths: tuple[int, int, int] = (32, 64, 128)
    # Teacher space and zero-shot logits.
    text_encoder: str = "minilm"
    templates: str = "ulip64"
    logit_scale: float = 100.0
    # Robust pre-training: a `corrupt_fraction` of each batch gets Gaussian point noise of std
    # ~ U(0, sigma_max) and patch masking, and its tokens reconstruct the clean points of each
    # patch (Chamfer); the rest stays clean, so a step costs one backbone pass per cloud.
    proxy_task: bool = True
    corrupt_fraction: float = 0.5
    sigma_max: float = 0.05
    mask_ratio: float = 0.0
    decoder_width: int = 128
    lambda_rec: float = 1.0
    # Feature denoiser: a diffusion-style network in the teacher space that attends to the point
    # tokens through cross-attention.
    feature_denoiser: bool = True
    fd_width: int = 128
    fd_depth: int = 2
    fd_heads: int = 4
    fd_loss: str = "cosine"
    lambda_fd: float = 1.0
    # Parallel noise inference: K copies from the backbone's estimate (or pure noise) at level
    # t_star; sigma_f None means the training noise of that level. Training refines with
    # `train_copies` copies, so K is an inference-only setting.
    copies: int = 8
    train_copies: int = 8
    t_star: float = 0.3
    sigma_f: float | None = None
    init_from: str = "estimate"
    # "fixed" draws the same noise at every call (the deterministic reference variant).
    noise: str = "random"
    noise_seed: int = 0
    # Training recipe (ULIP's schedule).
    epochs: int = 8
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.05
    augment: bool = True

    def __post_init__(self) -> None:
        positive = (
            "num_points",
            "num_groups",
            "group_size",
            "width",
            "depth",
            "heads",
            "decoder_width",
            "fd_width",
            "fd_depth",
            "fd_heads",
            "copies",
            "train_copies",
            "epochs",
            "batch_size",
        )
        for name in positive:
            if getattr(self, name) < 1:
                _fail(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.group_size > self.num_points or self.num_groups > self.num_points:
            _fail("num_groups and group_size must not exceed num_points")
        if self.width % self.heads or self.fd_width % self.fd_heads:
            _fail("width must be divisible by heads, and fd_width by fd_heads")
        for name in ("sigma_max", "lambda_rec", "lambda_fd", "weight_decay"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                _fail(f"{name} must be a finite number >= 0, not {value}")
        if self.sigma_f is not None and not (math.isfinite(self.sigma_f) and self.sigma_f >= 0):
            _fail(f"sigma_f must be a finite number >= 0 or None, not {self.sigma_f}")
        if not 0 < self.corrupt_fraction <= 1:
            _fail(f"corrupt_fraction must be in (0, 1], not {self.corrupt_fraction}")
        if not 0 <= self.mask_ratio < 1:
            _fail(f"mask_ratio must be in [0, 1), not {self.mask_ratio}")
        if not 0 < self.t_star <= 1:
            _fail(f"t_star must be in (0, 1], not {self.t_star}")
        if self.lr <= 0 or self.logit_scale <= 0:
            _fail("lr and logit_scale must be positive")
        for name, allowed in (
            ("init_from", INIT_FROM),
            ("noise", NOISE_MODES),
            ("fd_loss", FD_LOSSES),
        ):
            if getattr(self, name) not in allowed:
                _fail(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")

    @property
    def stochastic(self) -> bool:
        """Random at inference: the denoiser runs on freshly drawn noise at every call."""
        noisy = self.init_from == "noise" or self.sigma_f != 0
        return self.feature_denoiser and self.noise == "random" and noisy


def _fail(message: str) -> None:
    raise ConfigError(f"dual_denoise.{message}.")
