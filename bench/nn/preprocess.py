"""Differentiable input pipelines shared by methods: channel selection and point-count matching.

Datasets deliver clouds centred and scaled to the unit sphere, as the official loaders do;
methods do not renormalise inside the victim, because renormalising adversarial clouds at test
time acts as an undeclared defense.
"""

from __future__ import annotations

import torch

from bench.nn.pointops import farthest_point_sample, gather

DEFAULT_RGB = 0.4  # the constant the official loaders use when a dataset has no colour


def match_channels(points: torch.Tensor, channels: int) -> torch.Tensor:
    """xyz only (channels 3), or xyz + rgb with the official 0.4 grey when rgb is missing (6)."""
    if channels == 3:
        return points[..., :3]
    if points.shape[-1] == 6:
        return points
    return torch.cat([points[..., :3], torch.full_like(points[..., :3], DEFAULT_RGB)], dim=-1)


def match_count(points: torch.Tensor, count: int) -> torch.Tensor:
    """Keep `count` points by deterministic FPS if there are more; kept points carry gradients."""
    if points.shape[1] <= count:
        return points
    return gather(points, farthest_point_sample(points[..., :3], count))
