"""A tiny deterministic zero-shot victim and matching clouds, for testing attacks in seconds.

The victim is a real `bench.evaluation.victim.ZeroShotVictim` (attacks take the production code
path): a seeded per-point MLP with max-pooling, as in PointNet, and one class embedding per toy
shape taken as the centred mean embedding of that shape, which stands in for the text embeddings
of a zero-shot model. It recognises `toy_clouds` well without any training.
"""

from __future__ import annotations

from typing import TypeVar

import torch

from bench.contracts.auxiliary import UsesAuxiliary
from bench.contracts.plugins import Defense
from bench.contracts.randomness import RandomSource, randn
from bench.evaluation.victim import ZeroShotVictim

TOY_CLASSES = ("ball", "rod_x", "rod_y", "rod_z", "disk")
AXES = torch.tensor(  # half-axes of the ellipsoid each toy class is sampled from
    [[1.0, 1.0, 1.0], [1.0, 0.3, 0.3], [0.3, 1.0, 0.3], [0.3, 0.3, 1.0], [1.0, 1.0, 0.2]]
)
NOISE = 0.02
COLOUR_WEIGHT = 0.1  # colour matters a little, as in real models, but shape decides
PROTOTYPE_SEED = 1_000_003  # the "text prompts": fixed clouds that define the class embeddings


def toy_clouds(
    batch: int, points: int, seed: int, *, channels: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random toy-class labels [B] and noisy ellipsoid-surface clouds [B, N, channels].

    With channels=6 the last three channels are random colours in [0, 1).
    """
    if channels not in (3, 6):
        raise ValueError("toy clouds have 3 (xyz) or 6 (xyz + rgb) channels")
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, len(TOY_CLASSES), (batch,), generator=generator)
    direction = torch.randn(batch, points, 3, generator=generator)
    surface = direction / direction.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    xyz = surface * AXES[labels][:, None, :]
    xyz = xyz + NOISE * torch.randn(batch, points, 3, generator=generator)
    if channels == 6:
        xyz = torch.cat([xyz, torch.rand(batch, points, 3, generator=generator)], dim=-1)
    return xyz, labels


class PointMLPEncoder(torch.nn.Module):
    """Shared per-point MLP then max-pool, with seeded weights; rgb channels are optional."""

    center: torch.Tensor  # a buffer

    def __init__(self, seed: int, hidden: int = 64, width: int = 128, dim: int = 32) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        shapes = [(6, hidden), (hidden, width), (width, dim)]
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.randn(*shape, generator=generator) / shape[0] ** 0.5)
            for shape in shapes
        )
        self.biases = torch.nn.ParameterList(
            torch.nn.Parameter(0.1 * torch.randn(shape[1], generator=generator)) for shape in shapes
        )
        with torch.no_grad():
            self.weights[0][3:] *= COLOUR_WEIGHT
        self.register_buffer("center", torch.zeros(dim))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if points.shape[-1] == 3:  # absent colour reads as black
            points = torch.nn.functional.pad(points, (0, 3))
        first, second, last = zip(self.weights, self.biases, strict=True)
        hidden = torch.relu(points @ first[0] + first[1])
        hidden = torch.relu(hidden @ second[0] + second[1])
        return hidden.amax(dim=1) @ last[0] + last[1] - self.center


class NoisyInput(torch.nn.Module):
    """Gaussian noise on xyz in front of an encoder: a stochastic victim, for EOT tests."""

    def __init__(self, encoder: torch.nn.Module, sigma: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.sigma = sigma

    def forward(
        self,
        points: torch.Tensor,
        generator: RandomSource = None,
        draws: int | None = None,
    ) -> torch.Tensor:
        count = draws or 1
        rows = count * len(points)  # draws-major, as `bench.contracts.randomness` lays them out
        noise = randn(generator, rows, points.shape[1], 3, dtype=points.dtype, device=points.device)
        noise = noise.view(count, *points.shape[:-1], 3)
        xyz = points[..., :3].unsqueeze(0) + self.sigma * noise
        rest = points[..., 3:].unsqueeze(0).expand(count, *points.shape[:-1], -1)
        noisy = torch.cat([xyz, rest], dim=-1)
        embeddings = self.encoder(noisy.flatten(0, 1)).unflatten(0, (count, len(points)))
        return embeddings[0] if draws is None else embeddings


class ToyVictim(ZeroShotVictim):
    """A differentiable 5-class zero-shot victim built from `seed` alone.

    The embedding centre is subtracted inside the encoder so that cosine similarities separate
    the classes (raw max-pooled ReLU features all point the same way). With `input_noise` > 0
    the victim adds Gaussian noise of that std to xyz at every call: it is then stochastic.
    A `defense` goes in front, as in a cell.
    """

    def __init__(
        self,
        seed: int = 0,
        logit_scale: float = 100.0,
        input_noise: float = 0.0,
        defense: Defense | None = None,
    ) -> None:
        encoder = PointMLPEncoder(seed)
        prototypes, labels = toy_clouds(8 * len(TOY_CLASSES), 256, PROTOTYPE_SEED)
        with torch.no_grad():
            embeddings = encoder(prototypes)
            means = torch.stack([embeddings[labels == k].mean(dim=0) for k in range(len(AXES))])
            encoder.center.copy_(means.mean(dim=0))
        super().__init__(
            encoder=NoisyInput(encoder, input_noise) if input_noise > 0 else encoder,
            preprocess=torch.nn.Identity(),
            class_embeddings=means - encoder.center,
            class_names=TOY_CLASSES,
            logit_scale=logit_scale,
            stochastic=input_noise > 0,
            defense=defense,
            noise_seed=seed,
        )


P = TypeVar("P", bound=UsesAuxiliary)


def with_untrained_auxiliary(plugin: P, points: int) -> P:
    """`plugin` (an attack or defense) with its auxiliary network, if it needs one, bound:
    built from seeded random weights, since the contracts hold for any network, trained or not.
    """
    recipe = plugin.auxiliary_model()
    if recipe is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            plugin.bind_auxiliary(recipe.build(points).eval())
    return plugin
