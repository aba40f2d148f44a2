"""A miniature point upsampler in PU-Net's spirit, DUP-Net's auxiliary network."""

from __future__ import annotations

import torch

from bench.adversarial.distances import own_neighbours
from bench.auxiliary.point_autoencoder import chamfer


class PointUpsampler(torch.nn.Module):
    """Each point becomes `ratio` points: itself plus offsets predicted from its k-neighbourhood
    (a shared MLP over the relative positions, max-pooled) and the cloud's pooled feature, in
    units of its mean neighbour distance, so that it upsamples a cloud of any density.

    Yu et al.'s PU-Net (CVPR 2018) learns multi-level PointNet++ features and expands them by
    `ratio` branches; DUP-Net puts it after SOR. This keeps the expansion by branches and the
    local-plus-global features, at a size a few CPU minutes train.
    """

    def __init__(self, ratio: int, width: int, k: int) -> None:
        super().__init__()
        self.ratio, self.k = ratio, k
        self.local = torch.nn.Sequential(
            torch.nn.Linear(3, width // 2), torch.nn.ReLU(), torch.nn.Linear(width // 2, width)
        )
        self.expand = torch.nn.Sequential(
            torch.nn.Linear(2 * width, width), torch.nn.ReLU(), torch.nn.Linear(width, 3 * ratio)
        )

    def forward(self, xyz: torch.Tensor) -> torch.Tensor:
        """Clouds [B, N, 3] upsampled to [B, ratio * N, 3] (the input points' branches first)."""
        batch, count, _ = xyz.shape
        with torch.no_grad():
            index = own_neighbours(xyz, min(self.k, count - 1))
        neighbours = xyz.gather(1, index.flatten(1).unsqueeze(-1).expand(-1, -1, 3))
        relative = neighbours.view(batch, count, -1, 3) - xyz.unsqueeze(2)
        spacing = relative.norm(dim=-1).mean(dim=-1, keepdim=True).clamp_min(1e-6)  # [B, N, 1]
        local = self.local(relative / spacing.unsqueeze(-1)).amax(dim=2)  # [B, N, width]
        pooled = local.amax(dim=1, keepdim=True).expand_as(local)
        offsets = self.expand(torch.cat([local, pooled], dim=-1)).view(batch, count, self.ratio, 3)
        points = xyz.unsqueeze(2) + offsets * spacing.unsqueeze(-1)
        return points.transpose(1, 2).reshape(batch, self.ratio * count, 3)


def rebuilding_loss(
    model: torch.nn.Module, clouds: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """The mean Chamfer distance between whole `clouds` and their upsampling from a random
    1/ratio of their points (drawn from `generator`)."""
    assert isinstance(model, PointUpsampler)
    count = clouds.shape[1]
    keep = count // model.ratio
    subsets = torch.rand(len(clouds), count, generator=generator).argsort(dim=1)[:, :keep]
    sparse = clouds.gather(1, subsets.to(clouds.device).unsqueeze(-1).expand(-1, -1, 3))
    return chamfer(model(sparse), clouds).mean()


def upsample(model: torch.nn.Module, clouds: torch.Tensor) -> torch.Tensor:
    """`clouds` upsampled by `model`, in their dtype; further channels (rgb) are those of each
    new point's source point."""
    xyz = clouds[..., :3]
    dtype = next(model.parameters()).dtype
    dense = model(xyz.to(dtype)).to(xyz.dtype)
    if clouds.shape[-1] == 3:
        return dense
    ratio = dense.shape[1] // clouds.shape[1]
    extra = clouds[..., 3:].repeat(1, ratio, 1)  # branch-major, as `PointUpsampler` orders them
    return torch.cat([dense, extra], dim=-1)
