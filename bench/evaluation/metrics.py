"""Per-sample perturbation sizes between clean and adversarial clouds.

Published papers compute "Chamfer" and "Hausdorff" differently (squared or not, one- or
two-sided, summed or averaged), so the definitions are fixed here, named for what they compute,
and recorded with results. All use the xyz channels only; `a` ranges over adversarial points,
`c` over clean points:

    chamfer_sq_two_sided       (mean_a min_c |a - c|^2 + mean_c min_a |c - a|^2) / 2: squared,
                               symmetric, averaged. The first term alone is IF-Defense's
                               "adv2ori".
    hausdorff_sq_adv_to_clean  max_a min_c |a - c|^2: one-sided adversarial -> clean, squared,
                               as in IF-Defense's attacks (take the square root for a length).
    points_added, points_dropped   the change in point count (one is always 0)

and, when the point count is kept (point i is compared with point i):

    linf            max over points and coordinates of |a_i - c_i|
    l2              Frobenius norm of the coordinate change over [N, 3]
    point_l2        the largest single point's displacement length
    points_changed  number of points with some coordinate moved by more than MOVED_TOL

Chamfer and Hausdorff are set distances and ignore point order; the four above compare
positions, so for a reordered cloud (`shuffle`) they measure the reordering, not a move.
"""

from __future__ import annotations

import torch

from bench.adversarial.distances import nearest_squared

MOVED_TOL = 1e-6


def perturbation_metrics(
    clean: torch.Tensor, adversarial: torch.Tensor, *, chunk: int | None = None
) -> dict[str, torch.Tensor]:
    """Metrics of the module docstring as float tensors [B], for clouds [B, N, C>=3].

    `chunk` is how many query points get their nearest neighbour searched at once; by default
    at most `bench.adversarial.distances.MAX_PAIRS` distances are in memory.
    """
    if clean.shape[0] != adversarial.shape[0] or clean.shape[2:] != adversarial.shape[2:]:
        raise ValueError(
            f"clean {tuple(clean.shape)} and adversarial {tuple(adversarial.shape)} clouds"
            " must have the same batch size and channels"
        )
    with torch.no_grad():
        clean_xyz = clean[..., :3].detach()
        adv_xyz = adversarial[..., :3].detach().to(clean_xyz.dtype)
        batch, count = clean_xyz.shape[:2]
        same = adv_xyz.shape == clean_xyz.shape
        # Unchanged clouds are at set distance exactly 0: search neighbours only in the others.
        if same:
            changed = (adv_xyz - clean_xyz).flatten(1).ne(0).any(dim=1)
        else:
            changed = torch.ones(batch, dtype=torch.bool, device=clean_xyz.device)
        adv_to_clean = adv_xyz.new_zeros(adv_xyz.shape[:2])
        clean_to_adv = clean_xyz.new_zeros(clean_xyz.shape[:2])
        if changed.any():
            adv_to_clean[changed] = nearest_squared(adv_xyz[changed], clean_xyz[changed], chunk)
            clean_to_adv[changed] = nearest_squared(clean_xyz[changed], adv_xyz[changed], chunk)
        difference = adv_xyz.shape[1] - count
        metrics = {
            "chamfer_sq_two_sided": (adv_to_clean.mean(dim=1) + clean_to_adv.mean(dim=1)) / 2,
            "hausdorff_sq_adv_to_clean": adv_to_clean.amax(dim=1),
            "points_added": clean_xyz.new_full((batch,), max(difference, 0)),
            "points_dropped": clean_xyz.new_full((batch,), max(-difference, 0)),
        }
        if same:
            change = adv_xyz - clean_xyz
            lengths = change.norm(dim=-1)
            metrics.update(
                linf=change.abs().flatten(1).amax(dim=1),
                l2=change.flatten(1).norm(dim=1),
                point_l2=lengths.amax(dim=1),
                points_changed=(change.abs().amax(dim=-1) > MOVED_TOL)
                .sum(dim=1)
                .to(clean_xyz.dtype),
            )
        return metrics
