"""Set distances between clouds, differentiable where attacks penalise them.

Nearest neighbours are searched with the fast |r|^2 - 2 q.r matrix product, without gradient;
the distance to the chosen neighbour is then recomputed from the coordinate difference, which
carries the gradient and does not lose the small displacements attacks make to float32
cancellation. A near-tie may pick the second nearest, off by rounding only.
"""

from __future__ import annotations

import torch

MAX_PAIRS = 1 << 25  # pairwise distances held at once: 128 MB in float32


def _chunk(batch: int, count: int, chunk: int | None) -> int:
    return chunk if chunk is not None else max(1, MAX_PAIRS // max(1, batch * count))


def nearest_index(
    queries: torch.Tensor, reference: torch.Tensor, k: int = 1, chunk: int | None = None
) -> torch.Tensor:
    """Indices [B, Nq, k] of each query's k nearest reference points (xyz [B, N, 3])."""
    with torch.no_grad():
        reference = reference.detach()
        reference_sq = reference.square().sum(dim=-1).unsqueeze(1)
        found = []
        for part in queries.detach().split(
            _chunk(reference.shape[0], reference.shape[1], chunk), dim=1
        ):
            scores = torch.baddbmm(reference_sq, part, reference.transpose(1, 2), alpha=-2)
            found.append(scores.topk(k, dim=-1, largest=False).indices)
        return torch.cat(found, dim=1)


def nearest_squared(
    queries: torch.Tensor,
    reference: torch.Tensor,
    chunk: int | None = None,
    index: torch.Tensor | None = None,
) -> torch.Tensor:
    """Squared distance [B, Nq] from each query point to its nearest reference point, or to
    the reference point `index` [B, Nq, 1] names (a neighbour found earlier, reused)."""
    if index is None:
        index = nearest_index(queries, reference, 1, chunk)
    return (queries - reference.gather(1, index.expand(-1, -1, 3))).square().sum(dim=-1)


def chamfer_squared(adversarial: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """One-sided Chamfer [B]: mean over adversarial points of the squared distance to the
    nearest clean point (IF-Defense's "adv2ori"); differentiable in `adversarial`."""
    return nearest_squared(adversarial, clean).mean(dim=1)


def knn_mean_squared(
    points: torch.Tensor, k: int, chunk: int | None = None, index: torch.Tensor | None = None
) -> torch.Tensor:
    """Each point's mean squared distance to its k nearest other points [B, N], differentiable;
    or to the k points `index` [B, N, k] names (`own_neighbours` found earlier, reused)."""
    if index is None:
        index = own_neighbours(points, k, chunk)
    batch, count, _ = index.shape
    neighbours = points.gather(1, index.reshape(batch, count * k, 1).expand(-1, -1, 3))
    neighbours = neighbours.view(batch, count, k, 3)
    return (points.unsqueeze(2) - neighbours).square().sum(dim=-1).mean(dim=-1)


def own_neighbours(points: torch.Tensor, k: int, chunk: int | None = None) -> torch.Tensor:
    """Indices [B, N, k] of each point's k nearest other points of its own cloud."""
    return nearest_index(points, points, k + 1, chunk)[..., 1:]  # the first is the point itself


def knn_outlier_penalty(
    points: torch.Tensor, k: int = 5, alpha: float = 1.05, index: torch.Tensor | None = None
) -> torch.Tensor:
    """Tsai et al.'s kNN smoothness penalty [B]: the sum of `knn_mean_squared` over the points
    above the cloud's mean + alpha * std of it (statistics taken without gradient)."""
    value = knn_mean_squared(points, k, index=index)
    with torch.no_grad():
        limit = value.mean(dim=1, keepdim=True) + alpha * value.std(dim=1, keepdim=True)
    return (value * (value > limit)).sum(dim=1)


def farthest_within_clusters(points: torch.Tensor, clusters: int) -> torch.Tensor:
    """Xiang et al.'s cluster size [B]: the sum over `clusters` equal consecutive groups of
    `points` [B, N, 3] of the largest distance (not squared) between two of a group's points."""
    batch, count, _ = points.shape
    groups = points.reshape(batch, clusters, count // clusters, 3)
    squared = (groups.unsqueeze(2) - groups.unsqueeze(3)).square().sum(dim=-1)
    # The largest pair is never a point with itself; the floor keeps sqrt's gradient finite.
    return squared.amax(dim=(-1, -2)).clamp_min(1e-12).sqrt().sum(dim=1)
