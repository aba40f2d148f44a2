"""Per-sample perturbation sizes between clean and adversarial clouds of the same size.

Published papers compute "Chamfer" and "Hausdorff" differently (squared or not, one- or
two-sided, summed or averaged), so the definitions are fixed here and recorded with results.
All use the xyz channels only; `a` ranges over adversarial points, `c` over clean points:

    linf            max over points and coordinates of |a_i - c_i| (point i against point i)
    l2              Frobenius norm of the coordinate change over [N, 3]
    chamfer         (mean_a min_c |a - c|^2 + mean_c min_a |c - a|^2) / 2: squared distances,
                    symmetric, averaged. The first term alone is IF-Defense's "adv2ori".
    hausdorff       max_a min_c |a - c|^2: one-sided adversarial -> clean, squared, as in
                    IF-Defense's attacks (take the square root for a length).
    points_changed  number of points with some coordinate moved by more than MOVED_TOL

linf, l2 and points_changed compare point i with point i; chamfer and hausdorff are set
distances and ignore point order.
"""

from __future__ import annotations

import torch

MOVED_TOL = 1e-6
MAX_PAIRS = 1 << 25  # pairwise distances held at once: 128 MB in float32


def perturbation_metrics(
    clean: torch.Tensor, adversarial: torch.Tensor, *, chunk: int | None = None
) -> dict[str, torch.Tensor]:
    """Metrics of the module docstring as float tensors [B], for clouds [B, N, C>=3].

    `chunk` is how many query points get their nearest neighbour searched at once; by default
    it is chosen so that at most MAX_PAIRS distances are in memory (10k-point clouds at batch 32
    fit comfortably).
    """
    if clean.shape != adversarial.shape:
        raise ValueError(
            f"clean {tuple(clean.shape)} and adversarial {tuple(adversarial.shape)} clouds"
            " must have the same shape"
        )
    with torch.no_grad():
        clean_xyz = clean[..., :3].detach()
        adv_xyz = adversarial[..., :3].detach().to(clean_xyz.dtype)
        change = adv_xyz - clean_xyz
        # Unchanged clouds are at set distance exactly 0: search neighbours only in the others.
        changed = change.flatten(1).ne(0).any(dim=1)
        adv_to_clean = torch.zeros(change.shape[:2], dtype=change.dtype, device=change.device)
        clean_to_adv = torch.zeros_like(adv_to_clean)
        if changed.any():
            adv_to_clean[changed] = _nearest_squared(adv_xyz[changed], clean_xyz[changed], chunk)
            clean_to_adv[changed] = _nearest_squared(clean_xyz[changed], adv_xyz[changed], chunk)
        moved = change.abs().amax(dim=-1) > MOVED_TOL
        return {
            "linf": change.abs().flatten(1).amax(dim=1),
            "l2": change.flatten(1).norm(dim=1),
            "chamfer": (adv_to_clean.mean(dim=1) + clean_to_adv.mean(dim=1)) / 2,
            "hausdorff": adv_to_clean.amax(dim=1),
            "points_changed": moved.sum(dim=1).to(clean_xyz.dtype),
        }


def _nearest_squared(
    queries: torch.Tensor, reference: torch.Tensor, chunk: int | None
) -> torch.Tensor:
    """Squared distance [B, N] from each query point to its nearest reference point.

    The neighbour is found with the fast |r|^2 - 2 q.r matrix-product form, then its distance is
    recomputed from the difference: the product form alone loses the small displacements attacks
    make to cancellation in float32. A near-tie may pick the second nearest, off by rounding only.
    """
    batch, count, _ = reference.shape
    size = chunk if chunk is not None else max(1, MAX_PAIRS // max(1, batch * count))
    reference_sq = reference.square().sum(dim=-1).unsqueeze(1)
    nearest = []
    for part in queries.split(size, dim=1):
        scores = torch.baddbmm(reference_sq, part, reference.transpose(1, 2), alpha=-2)
        index = scores.argmin(dim=-1, keepdim=True).expand(-1, -1, 3)
        nearest.append((part - reference.gather(1, index)).square().sum(dim=-1))
    return torch.cat(nearest, dim=1)
