"""OpenShape: a PPAT encoder aligned to a frozen CLIP-like space by in-batch contrastive learning.

The miniature keeps OpenShape's recipe where it applies to a labelled 40-class set (Liu et al.,
NeurIPS 2023; every choice below follows the official training code):

- Encoder output lives in the raw teacher space. OpenShape can learn Linear heads on the frozen
  text and image features (`use_text_proj`, `use_image_proj`), but its released configs leave
  them off, so only the encoder's own `proj` head is learned and zero-shot logits compare with
  unprojected class embeddings, exactly what the harness's victim does.
- Loss: symmetric in-batch InfoNCE of point embeddings against each shape's text embedding, plus
  the same against image embeddings when the dataset has them, sharing one learnable
  temperature (initial scale 1/0.07; clamped at 100 as in CLIP, where OpenShape leaves it free).
  Here a shape's text is its class prompt embedding, plus its caption when the corpus has
  captions (InfoNCE over the corpus's distinct captions, so equal captions are never negatives).
- False negatives: with `use_mask`, OpenShape drops in-group pairs whose text is about as close
  to the shape's image as its own text. With labels the exact criterion is known: pairs of one
  class leave the softmax.
- Hard negatives: with `use_knn_negative_sample` (off in the shipped config, a module of the
  paper), OpenShape builds a batch from groups of a seed shape and shapes near it in a trained
  model's feature space. Here a group is a seed shape plus shapes of the classes nearest the
  seed's class in the teacher's text space.
- Optimiser: AdamW at torch's default weight decay, as OpenShape; the harness's one-cycle
  schedule stands in for OpenShape's step decay over hundreds of epochs.
- Input: y-up data is turned z-up by swapping y and z, centred and scaled by the max radius
  (`normalize_pc`), and given rgb (0.4 grey when absent); training augments the normalised cloud
  (point dropout, scale, shift, small tilt, random turn about the up axis, rgb dropped to grey).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bench.contracts.bounds import (
    DEPTH,
    HEADS,
    LOGIT_SCALE,
    POINTS,
    TRAINING_RULES,
    WIDTH,
    at_most,
    divides,
    integer,
    number,
    one_of,
    require,
)
from bench.contracts.errors import DataError
from bench.contracts.plugins import METHODS, Method, PluginInfo
from bench.contracts.releases import release_table

if TYPE_CHECKING:
    import torch

    from bench.contracts.train_context import TrainContext


@dataclass(frozen=True)
class OpenShapeConfig:
    # Input pipeline.
    num_points: int = 1024
    swap_yz: bool = True  # OpenShape's bigG models are z-up; the datasets here are y-up
    # OpenShape's normalize_pc (subtract the mean, divide by the max norm) belongs to its data
    # loader: attacks act on loaded clouds. Inside the victim it would undo part of every
    # perturbation (an undeclared defense), so it is off, as for every other method here.
    normalize: bool = False
    # Miniature PPAT backbone: 32 balls of 32 points, the grouping cost of the ULIP miniature.
    # Radius 0.3 holds a median of ~75 points of a 1024-point unit-sphere cloud, so most balls
    # are full and keep a random subset (the points are unordered), as G14's are at 10k points.
    patches: int = 32
    radius: float = 0.3
    nsample: int = 32
    width: int = 128
    depth: int = 4
    heads: int = 4
    mlp_dim: int = 384
    sa_dim: int = 128
    # "random" is the official DGL behaviour and makes the victim stochastic.
    fps_start: Literal["first", "random"] = "first"
    # Teacher space and zero-shot logits.
    text_encoder: str = "minilm"
    templates: str = "ulip64"
    logit_scale: float = 100.0
    # Training recipe.
    epochs: int = 8
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    augment: bool = True
    rotate_up: bool = True  # random turn about the up axis, as OpenShape trains
    hard_negatives: bool = True
    group_size: int = 4  # shapes per hard-negative group (OpenShape's negative_sample_num)
    neighbour_classes: int = 5  # nearest classes a group's other shapes are drawn from

    def __post_init__(self) -> None:
        require(self, "openshape", TRAINING_RULES)
        require(
            self,
            "openshape",
            {
                "num_points": POINTS,
                "patches": (integer(1, 8_192), at_most("num_points")),
                "radius": number(0, 2, low_open=True),  # 2 holds all of a unit-sphere cloud
                "nsample": (integer(1, 1_024), at_most("num_points")),
                "width": WIDTH,
                "depth": DEPTH,
                "heads": (HEADS, divides("width")),
                "mlp_dim": WIDTH,
                "sa_dim": WIDTH,
                "fps_start": one_of("first", "random"),
                "logit_scale": LOGIT_SCALE,
                "group_size": (integer(1, 1_024), at_most("batch_size")),
                "neighbour_classes": integer(1, 10_000),
            },
        )


ENTRIES = Path(__file__).with_name("entries")  # one file per published checkpoint


@METHODS.register("openshape")
class OpenShape(Method[OpenShapeConfig]):
    """OpenShape-style PPAT aligned to the teacher by in-batch contrast (Liu et al., 2023)."""

    Config = OpenShapeConfig
    version = 1
    smoke = OpenShapeConfig(
        num_points=256,
        patches=16,
        nsample=16,
        width=32,
        depth=1,
        heads=2,
        mlp_dim=64,
        sa_dim=32,
        epochs=1,
    )
    info = PluginInfo(
        display="OpenShape (PointBERT)",
        description="PPAT point transformer aligned to the teacher by in-batch contrast",
        cite="Liu et al., OpenShape: Scaling Up 3D Shape Representation Towards Open-World"
        " Understanding, NeurIPS 2023",
        url="https://github.com/Colin97/OpenShape_code",
    )
    releases = release_table(ENTRIES, "openshape", OpenShapeConfig)

    @property
    def stochastic(self) -> bool:
        """A random FPS start (the official behaviour) changes the patches on every call."""
        return self.config.fps_start == "random"

    def build_encoder(self, embed_dim: int) -> torch.nn.Module:
        from bench.nn.ppat import PpatConfig, PpatEncoder

        c = self.config
        return PpatEncoder(
            PpatConfig(
                dim=c.width,
                depth=c.depth,
                heads=c.heads,
                dim_head=c.width // c.heads,  # heads x dim_head = width, as in G14
                mlp_dim=c.mlp_dim,
                sa_dim=c.sa_dim,
                patches=c.patches,
                radius=c.radius,
                nsample=c.nsample,
                proj_dim=embed_dim,
                fps_start=c.fps_start,
            )
        )

    def preprocess(self, points: torch.Tensor) -> torch.Tensor:
        """Point count, z-up, optionally `normalize_pc`, and xyz || rgb, as OpenShape's loaders.

        Datasets deliver unit-sphere clouds already; `normalize=true` renormalises inside the
        victim, adversarial clouds included, to study that as a defense.
        """
        import torch

        from bench.nn.preprocess import match_channels, match_count

        if points.dim() != 3 or points.shape[-1] not in (3, 6):
            raise DataError(
                f"OpenShape takes clouds shaped [B, N, 3] (xyz) or [B, N, 6] (xyz + rgb),"
                f" got {list(points.shape)}."
            )
        c = self.config
        points = match_count(points, c.num_points)
        xyz = points[..., [0, 2, 1]] if c.swap_yz else points[..., :3]
        if c.normalize:
            xyz = normalize_pc(xyz)
        return torch.cat([xyz, match_channels(points, 6)[..., 3:]], dim=-1)

    def train(self, ctx: TrainContext) -> torch.nn.Module:
        import numpy as np
        import torch

        from bench.training.distill import LogitScale, caption_loss
        from bench.training.loop import Schedule, fit

        c = self.config
        torch.manual_seed(ctx.seed)  # initial weights are part of the recipe
        encoder = self.build_encoder(ctx.class_embeddings.shape[1])
        scale = LogitScale()
        model = torch.nn.ModuleDict({"encoder": encoder, "scale": scale})
        clouds = torch.from_numpy(np.ascontiguousarray(ctx.data.points))
        labels_all = torch.from_numpy(np.ascontiguousarray(ctx.data.labels)).long()
        images = ctx.data.image_embeddings
        image_table = None if images is None else torch.as_tensor(images).float()
        sampler = HardNegatives(labels_all, ctx.class_embeddings.cpu(), c.neighbour_classes)

        def loss(
            points: torch.Tensor, labels: torch.Tensor, index: torch.Tensor, gen: torch.Generator
        ) -> torch.Tensor:
            if c.hard_negatives:
                index = sampler.batch(
                    index[: max(1, len(index) // c.group_size)], c.group_size, gen
                )
                points, labels = clouds[index].to(ctx.device), labels_all[index].to(ctx.device)
            x = self.preprocess(points)
            if c.augment:
                x = augment(x, gen, c.rotate_up)
            z = encoder(x, generator=gen)
            value = in_batch_loss(z, ctx.class_embeddings[labels], labels, scale())
            value = value + caption_loss(z, ctx, index, scale())
            if image_table is not None:
                targets = image_table[index].to(ctx.device)
                value = value + in_batch_loss(z, targets, labels, scale())
            return value

        fit(model, loss, ctx, Schedule(c.epochs, c.batch_size, c.lr, c.weight_decay, ctx.seed))
        return encoder


def normalize_pc(xyz: torch.Tensor) -> torch.Tensor:
    """Centre each cloud on its mean and scale its farthest point to radius 1 (zeros if a point).

    Differentiable, with finite gradients even for a degenerate cloud.
    """
    import torch

    centred = xyz - xyz.mean(dim=1, keepdim=True)
    radius_sq = centred.square().sum(dim=-1).amax(dim=1).view(-1, 1, 1)
    scaled = centred / radius_sq.clamp_min(1e-12).sqrt()
    return torch.where(radius_sq < 1e-12, torch.zeros_like(centred), scaled)


def in_batch_loss(
    embeddings: torch.Tensor, targets: torch.Tensor, labels: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """OpenShape's symmetric InfoNCE between clouds and their own targets, within the batch.

    Other clouds of the same class are false negatives and leave the softmax (OpenShape's mask
    multiplies such logits by zero instead, which leaves them in the normaliser).
    """
    import torch
    import torch.nn.functional as F

    logits = scale * F.normalize(embeddings, dim=-1) @ F.normalize(targets, dim=-1).T
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    same.fill_diagonal_(False)
    logits = logits.masked_fill(same, float("-inf"))
    order = torch.arange(len(logits), device=logits.device)
    return (F.cross_entropy(logits, order) + F.cross_entropy(logits.T, order)) / 2


class HardNegatives:
    """Batches of groups: a seed shape plus shapes of the classes whose text is nearest its own.

    OpenShape groups a seed with its nearest shapes in a trained model's feature space; with
    class labels and a frozen teacher, the nearest classes in the teacher's text space play that
    part, and need no earlier model.
    """

    def __init__(
        self, labels: torch.Tensor, class_embeddings: torch.Tensor, neighbours: int
    ) -> None:
        import torch

        present = torch.bincount(labels, minlength=len(class_embeddings)) > 0
        similarity = class_embeddings @ class_embeddings.T
        similarity[:, ~present] = float("-inf")
        if int(present.sum()) > 1:
            similarity.fill_diagonal_(float("-inf"))
        count = max(1, min(neighbours, int(present.sum()) - 1))
        self.neighbours = similarity.topk(count, dim=1).indices  # [K, count]
        self.by_class = torch.argsort(labels, stable=True)  # sample indices grouped by class
        sizes = torch.bincount(labels, minlength=len(class_embeddings))
        self.sizes = sizes
        self.starts = torch.cumsum(sizes, 0) - sizes
        self.labels = labels

    def batch(self, seeds: torch.Tensor, group_size: int, gen: torch.Generator) -> torch.Tensor:
        """Sample indices [len(seeds) * group_size], each seed followed by its group."""
        import torch

        others = (len(seeds), group_size - 1)
        choice = torch.randint(0, self.neighbours.shape[1], others, generator=gen)
        classes = self.neighbours[self.labels[seeds]].gather(1, choice)
        offset = (torch.rand(others, generator=gen) * self.sizes[classes]).long()
        members = self.by_class[self.starts[classes] + offset]
        return torch.cat([seeds.unsqueeze(1), members], dim=1).flatten()


def augment(points: torch.Tensor, gen: torch.Generator, rotate_up: bool) -> torch.Tensor:
    """OpenShape's training augmentation of normalised z-up clouds [B, N, xyz || rgb].

    Point dropout (up to 87.5% of points replaced by the first), isotropic scale in [0.8, 1.25],
    shift in [-0.1, 0.1], a small tilt (angles N(0, 0.06^2) clipped at 0.18), a uniform turn
    about the up (z) axis, and rgb replaced by 0.4 grey for half the clouds.
    """
    import torch

    from bench.nn.preprocess import DEFAULT_RGB

    batch, count = points.shape[:2]
    device = points.device

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return (low + (high - low) * torch.rand(*shape, generator=gen)).to(device)

    xyz, rgb = points[..., :3], points[..., 3:]
    dropped = uniform(0, 1, batch, count) <= uniform(0, 0.875, batch, 1)
    xyz = torch.where(dropped.unsqueeze(-1), xyz[:, :1], xyz)
    xyz = xyz * uniform(0.8, 1.25, batch, 1, 1) + uniform(-0.1, 0.1, batch, 1, 3)
    tilt = (0.06 * torch.randn(batch, 3, generator=gen)).clamp(-0.18, 0.18).to(device)
    turn = rotation(tilt[:, 2], 2) @ rotation(tilt[:, 1], 1) @ rotation(tilt[:, 0], 0)
    xyz = xyz @ turn
    if rotate_up:
        xyz = xyz @ rotation(uniform(0, 2 * math.pi, batch), 2)
    grey = uniform(0, 1, batch, 1, 1) < 0.5
    rgb = torch.where(grey, torch.full_like(rgb, DEFAULT_RGB), rgb)
    return torch.cat([xyz, rgb], dim=-1)


def rotation(angles: torch.Tensor, axis: int) -> torch.Tensor:
    """Right-handed rotation matrices [B, 3, 3] about one coordinate axis."""
    import torch

    cos, sin = angles.cos(), angles.sin()
    matrix = torch.zeros(len(angles), 3, 3, dtype=angles.dtype, device=angles.device)
    first, second = (axis + 1) % 3, (axis + 2) % 3  # cyclic, so the rotation is right-handed
    matrix[:, axis, axis] = 1
    matrix[:, first, first] = cos
    matrix[:, second, second] = cos
    matrix[:, first, second] = -sin
    matrix[:, second, first] = sin
    return matrix
