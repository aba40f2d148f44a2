"""A miniature point diffusion model (Luo and Hu's DDPM on point coordinates), PointDP's
auxiliary network: a noise predictor, its training, and purification by noising and denoising."""

from __future__ import annotations

import torch

from bench.contracts.randomness import RandomSource, randn


class PointDenoiser(torch.nn.Module):
    """Predicts the noise of each point of a noised cloud at step t, from the point, a shape
    code (a per-point MLP over the noised cloud, max-pooled) and a learned embedding of t.

    Luo and Hu (Diffusion Probabilistic Models for 3D Point Cloud Generation, CVPR 2021), whose
    model PointDP purifies with, condition a per-point network on a PointNet shape latent and
    the step; this keeps that shape at a size a few CPU minutes train. It purifies coarsely: a
    neighbourhood feature (kNN) denoised better but cost 5x, and the chain runs inside every
    attack query. The schedule is theirs:
    `steps` steps, beta linear from 1e-4 to `beta_max`.
    """

    betas: torch.Tensor  # [steps + 1], betas[0] = 0 (buffers, saved with the weights)
    kept: torch.Tensor  # [steps + 1], the cumulative product of 1 - beta (alpha-bar)

    def __init__(self, width: int, steps: int, beta_max: float) -> None:
        super().__init__()
        self.encoder = torch.nn.Sequential(
            torch.nn.Linear(3, width // 2), torch.nn.ReLU(), torch.nn.Linear(width // 2, width)
        )
        self.time = torch.nn.Embedding(steps + 1, width)
        self.head = torch.nn.Sequential(
            torch.nn.Linear(3 + 2 * width, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, 3),
        )
        betas = torch.linspace(1e-4, beta_max, steps, dtype=torch.float64)
        betas = torch.cat([betas.new_zeros(1), betas])
        self.register_buffer("betas", betas.float())
        self.register_buffer("kept", torch.cumprod(1 - betas, 0).float())

    def forward(self, noisy: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """Predicted noise [B, N, 3] of clouds [B, N, 3] at steps [B]."""
        count = noisy.shape[1]
        code = self.encoder(noisy).amax(dim=1, keepdim=True).expand(-1, count, -1)
        time = self.time(step).unsqueeze(1).expand(-1, count, -1)
        return self.head(torch.cat([noisy, code, time], dim=-1))


def noise_loss(
    model: torch.nn.Module, clouds: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """The DDPM objective: the mean squared error of the noise predicted for `clouds` noised
    to uniformly drawn steps (steps and noise drawn from `generator`)."""
    assert isinstance(model, PointDenoiser)
    steps = len(model.betas) - 1
    step = torch.randint(1, steps + 1, (len(clouds),), generator=generator).to(clouds.device)
    noise = torch.randn(clouds.shape, generator=generator).to(clouds.device)
    kept = model.kept[step].view(-1, 1, 1)
    noisy = kept.sqrt() * clouds + (1 - kept).sqrt() * noise
    return (model(noisy, step) - noise).square().mean()


def purify(
    model: torch.nn.Module, clouds: torch.Tensor, step: int, generator: RandomSource
) -> torch.Tensor:
    """PointDP's purification: `clouds` noised to `step`, then denoised back to step 0 by the
    DDPM reverse chain, every draw from `generator` (one row each). Differentiable."""
    assert isinstance(model, PointDenoiser)
    xyz = clouds[..., :3]
    dtype = model.betas.dtype

    def noise() -> torch.Tensor:
        return randn(generator, len(xyz), *xyz.shape[1:], dtype=dtype, device=xyz.device)

    kept = model.kept[step]
    current = kept.sqrt() * xyz.to(dtype) + (1 - kept).sqrt() * noise()
    for t in range(step, 0, -1):
        at = torch.full((len(xyz),), t, device=xyz.device)
        beta, kept = model.betas[t], model.kept[t]
        predicted = model(current, at)
        current = (current - beta / (1 - kept).sqrt() * predicted) / (1 - beta).sqrt()
        if t > 1:
            current = current + beta.sqrt() * noise()
    purified = current.to(xyz.dtype)
    return torch.cat([purified, clouds[..., 3:]], dim=-1) if clouds.shape[-1] > 3 else purified
