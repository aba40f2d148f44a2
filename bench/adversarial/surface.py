"""The local surface of a cloud: normals from its neighbourhoods, and its graph spectrum.

Both are estimated from the points alone (these clouds carry no normals or meshes), without
gradient: attacks use them to shape a step, not as part of what they differentiate.
"""

from __future__ import annotations

import torch

from bench.adversarial.distances import nearest_index


def normals(points: torch.Tensor, k: int) -> torch.Tensor:
    """Unit normals [B, N, 3] of xyz [B, N, 3]: the least-variance direction of each point's
    k nearest points (itself included), as Open3D's `estimate_normals` with a kNN search.

    The sign is arbitrary; a tangent-plane projection does not depend on it.
    """
    with torch.no_grad():
        batch, count, _ = points.shape
        index = nearest_index(points, points, min(k, count))
        neighbours = points.gather(1, index.reshape(batch, -1, 1).expand(-1, -1, 3))
        neighbours = neighbours.view(batch, count, -1, 3).double()
        centred = neighbours - neighbours.mean(dim=2, keepdim=True)
        covariance = centred.transpose(-1, -2) @ centred
        return torch.linalg.eigh(covariance).eigenvectors[..., 0].to(points.dtype)


def tangent(vectors: torch.Tensor, unit_normals: torch.Tensor) -> torch.Tensor:
    """`vectors` [B, N, 3] without their component along each point's normal."""
    return vectors - (vectors * unit_normals).sum(dim=-1, keepdim=True) * unit_normals


def low_frequency_basis(points: torch.Tensor, k: int, size: int) -> torch.Tensor:
    """The `size` smoothest eigenvectors [B, N, size] of each cloud's kNN-graph Laplacian.

    The graph joins each point to its k nearest (symmetrised), weighted exp(-squared
    distance); L = D - W. Projecting a cloud onto this basis keeps its low-frequency part, the
    coarse shape (Liu and Hu's AOF). An N x N eigendecomposition per cloud, in float64: cheap
    at 1,024 points, prohibitive at tens of thousands.
    """
    with torch.no_grad():
        basis = []
        for cloud in points.double():
            count = len(cloud)
            index = nearest_index(cloud[None], cloud[None], min(k + 1, count))[0, :, 1:]
            joined = torch.zeros(count, count, dtype=cloud.dtype, device=cloud.device)
            joined.scatter_(1, index, 1.0)
            joined = (joined + joined.T).clamp_max(1.0)
            weights = torch.exp(-torch.cdist(cloud, cloud).square()) * joined
            laplacian = torch.diag(weights.sum(dim=1)) - weights
            basis.append(torch.linalg.eigh(laplacian).eigenvectors[:, : min(size, count)])
        return torch.stack(basis).to(points.dtype)
