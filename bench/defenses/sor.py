"""Statistical outlier removal (SOR): drop points far from their neighbours, pad back to size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.contracts.bounds import FLAG, integer, number, one_of, require
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import DEFENSES, Defense, PluginInfo

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource

DISTANCES = ("squared", "euclidean")
PADDINGS = ("nearest", "cycle")


@dataclass(frozen=True)
class SORConfig:
    """SOR settings; `bpda: false` attacks the hard filter without a surrogate (no gradient)."""

    k: int = 2
    alpha: float = 1.1
    distance: str = "squared"
    padding: str = "nearest"
    bpda: bool = True

    def __post_init__(self) -> None:
        require(
            self,
            "sor",
            {
                "k": integer(1, 1_024),
                "alpha": number(-100, 100),  # standard deviations above the mean distance
                "distance": one_of(*DISTANCES),
                "padding": one_of(*PADDINGS),
                "bpda": FLAG,
            },
        )


@DEFENSES.register("sor")
class SOR(Defense[SORConfig]):
    """Remove points whose mean distance to their k nearest neighbours exceeds mean + alpha * std.

    The statistics are per cloud (mean and standard deviation over its points). The name hides
    very different settings in the literature, so all of them are parameters:

    - `k`, `alpha`, `distance`: IF-Defense uses k = 2, alpha = 1.1 on the mean *squared*
      neighbour distance (`baselines/defense/drop_points/SOR.py`), the defaults here; DUP-Net's
      original uses k = 50, alpha = 1.0 and Euclidean distances (PCL); JGBA and Liu et al. use
      k = 10, alpha = 1.0, Euclidean.
    - `padding`: batches need a fixed size, so every removed point's slot is refilled with a
      kept point (kept points stay in their own slots): "nearest" (the kept point nearest to the
      removed one, as Liu et al. overwrite removed points) or "cycle" (the kept points in order,
      a density-neutral duplication like SI-Adv's padding). IF-Defense instead classifies
      variable-size clouds one at a time, which max-pooling encoders see almost identically.

    The filter is a hard selection, run without gradient (as in IF-Defense). Attacks follow its
    BPDA surrogate, the straight-through identity (Athalye et al., 2018): the gradient at each
    slot goes to the input point of that slot. With `bpda: false` the attack gets no gradient
    through the filter at all, which is what a naive white-box evaluation of a non-differentiable
    filter amounts to: a deliberately weak attack, kept to show the attack-failure indicators
    catch it (the defense-unaware attack then beats it).
    """

    Config = SORConfig
    version = 1
    differentiable = False
    info = PluginInfo(
        display="SOR",
        description="statistical outlier removal with fixed-size padding (BPDA: identity)",
        cite="Zhou et al., DUP-Net: Denoiser and Upsampler Network for 3D Adversarial Point"
        " Clouds Defense, ICCV 2019",
    )

    def apply(self, points: torch.Tensor, generator: RandomSource) -> torch.Tensor:
        import torch

        from bench.adversarial.distances import knn_mean_squared, nearest_index
        from bench.nn.pointops import gather

        c = self.config
        batch, count, _ = points.shape
        if c.k >= count:
            raise ConfigError(f"sor.k={c.k} needs clouds of more than {c.k} points.")
        xyz = points[..., :3]
        if c.distance == "squared":
            score = knn_mean_squared(xyz, c.k)
        else:
            index = nearest_index(xyz, xyz, c.k + 1)[..., 1:]
            neighbours = gather(xyz, index)
            score = (xyz.unsqueeze(2) - neighbours).norm(dim=-1).mean(dim=-1)
        limit = score.mean(dim=1, keepdim=True) + c.alpha * score.std(dim=1, keepdim=True)
        kept = score <= limit
        kept |= ~kept.any(dim=1, keepdim=True)  # a degenerate cloud is kept whole
        slots = torch.arange(count, device=points.device).expand(batch, count)
        if c.padding == "nearest":
            far = torch.where(kept, 0.0, float("inf")).to(xyz.dtype)
            source = _nearest_kept(xyz, far)
        else:
            order = torch.argsort((~kept).to(torch.int8), dim=1, stable=True)  # kept first
            kept_count = kept.sum(dim=1, keepdim=True)
            rank = (~kept).cumsum(dim=1) - 1  # position of each removed slot among the removed
            source = order.gather(1, rank.clamp_min(0) % kept_count)
        return gather(points, torch.where(kept, slots, source))


def _nearest_kept(xyz: torch.Tensor, far: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Index [B, N] of the kept point nearest to each point (`far` is +inf at removed points)."""
    import torch

    squared = xyz.square().sum(dim=-1)
    penalty = (squared + far).unsqueeze(1)
    found = []
    for part in xyz.split(chunk, dim=1):
        scores = torch.baddbmm(penalty, part, xyz.transpose(1, 2), alpha=-2)
        found.append(scores.argmin(dim=-1))
    return torch.cat(found, dim=1)
