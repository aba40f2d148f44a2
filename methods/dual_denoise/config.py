"""The dual-denoising configuration: every component has a switch, every choice is a number.

Ablations are config changes: `proxy_task=false` (no corruption, no reconstruction),
`feature_denoiser=false` (classify with the backbone's projection), `copies=1` (no parallel
noise inference), noise levels and loss weights. The defaults are our reconstruction's choices;
the paper's own values are unpublished.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.contracts.bounds import (
    DEPTH,
    HEADS,
    LOGIT_SCALE,
    PATCH_RULES,
    POINT_BERT_RULES,
    SEED,
    TRAINING_RULES,
    WIDTH,
    Rules,
    divides,
    integer,
    number,
    one_of,
    optional,
    require,
)

INIT_FROM = ("estimate", "noise")
NOISE_MODES = ("random", "fixed")
FD_LOSSES = ("cosine", "mse")
LOSS_WEIGHT = number(0, 1_000)
COPIES = integer(1, 1_024)  # noisy copies per cloud, batched in one pass


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
        rules: Rules = {**POINT_BERT_RULES, **TRAINING_RULES, "logit_scale": LOGIT_SCALE}
        require(self, "dual_denoise", rules)
        require(self, "dual_denoise", PATCH_RULES)
        require(
            self,
            "dual_denoise",
            {
                "corrupt_fraction": number(0, 1, low_open=True),
                "sigma_max": number(0, 1),
                "mask_ratio": number(0, 1, high_open=True),
                "decoder_width": WIDTH,
                "lambda_rec": LOSS_WEIGHT,
                "fd_width": WIDTH,
                "fd_depth": DEPTH,
                "fd_heads": (HEADS, divides("fd_width")),
                "fd_loss": one_of(*FD_LOSSES),
                "lambda_fd": LOSS_WEIGHT,
                "copies": COPIES,
                "train_copies": COPIES,
                "t_star": number(0, 1, low_open=True),
                "sigma_f": optional(number(0, 10)),
                "init_from": one_of(*INIT_FROM),
                "noise": one_of(*NOISE_MODES),
                "noise_seed": SEED,
            },
        )

    @property
    def stochastic(self) -> bool:
        """Random at inference: the denoiser runs on freshly drawn noise at every call."""
        noisy = self.init_from == "noise" or self.sigma_f != 0
        return self.feature_denoiser and self.noise == "random" and noisy
