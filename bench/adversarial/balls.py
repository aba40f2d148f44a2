"""Perturbation sets on xyz: projection, unit steps and uniform random starts per norm.

Norms as in `bench.contracts.plugins.ThreatModel`: "linf" (per coordinate), "l2" (the whole
cloud's Frobenius norm) and "point_l2" (each point's displacement length). Only xyz (the first
three channels) is ever perturbed; further channels (rgb) pass through unchanged.
"""

from __future__ import annotations

from typing import Any

import torch

from bench.contracts.randomness import RandomSource, rand, randn


def cloud_norm(tensor: torch.Tensor) -> torch.Tensor:
    """Per-cloud L2 (Frobenius) norm, shaped [B, 1, 1] to broadcast over points."""
    return tensor.flatten(1).norm(dim=1)[:, None, None]


def point_norm(tensor: torch.Tensor) -> torch.Tensor:
    """Per-point L2 norm [B, N, 1]."""
    return tensor.norm(dim=-1, keepdim=True)


def tiny(tensor: torch.Tensor) -> float:
    """The smallest positive normal number of the dtype: a zero-norm guard, else harmless."""
    return torch.finfo(tensor.dtype).tiny


def project(delta: torch.Tensor, norm: str, eps: float) -> torch.Tensor:
    """The nearest point of the ball (rescaling, for the L2 norms)."""
    if norm == "linf":
        return delta.clamp(-eps, eps)
    size = cloud_norm(delta) if norm == "l2" else point_norm(delta)
    return delta * (eps / size.clamp_min(tiny(delta))).clamp(max=1.0)


def unit_step(gradient: torch.Tensor, norm: str) -> torch.Tensor:
    """The steepest-ascent direction of unit size: the sign (L-inf) or the normalised gradient."""
    if norm == "linf":
        return gradient.sign()
    size = cloud_norm(gradient) if norm == "l2" else point_norm(gradient)
    return gradient / size.clamp_min(tiny(gradient))


def random_start(xyz: torch.Tensor, norm: str, eps: float, generator: RandomSource) -> torch.Tensor:
    """A uniform draw from the ball around 0, shaped like `xyz`, from `generator` only.

    L-inf: uniform per coordinate. L2: uniform direction over the whole cloud, radius
    eps * u^(1 / 3N). Per-point L2: the same, independently for each point (u^(1/3)).
    """
    batch, count, _ = xyz.shape
    options: dict[str, Any] = {"dtype": xyz.dtype, "device": xyz.device}
    if norm == "linf":
        return (2 * rand(generator, batch, count, 3, **options) - 1) * eps
    direction = randn(generator, batch, count, 3, **options)
    if norm == "l2":
        direction = direction / cloud_norm(direction).clamp_min(tiny(direction))
        radius = rand(generator, batch, 1, 1, **options) ** (1 / xyz[0].numel())
    else:
        direction = direction / point_norm(direction).clamp_min(tiny(direction))
        radius = rand(generator, batch, count, 1, **options) ** (1 / 3)
    return direction * eps * radius


def compose(clean: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Clean clouds with `delta` added to xyz and any further channels (rgb) unchanged."""
    moved = clean[..., :3] + delta
    return torch.cat([moved, clean[..., 3:]], dim=-1) if clean.shape[-1] > 3 else moved
