"""The victim: a differentiable zero-shot classifier `points [B, N, C] -> logits [B, K]`.

Logits are `logit_scale * cos(encoder(preprocess(defense(points))), class_embedding)`. The scale
is explicit and recorded, because gradient magnitudes (and so attack step semantics) depend on it.

The victim is stochastic when the method's forward pass draws noise or its defense is
randomized; each draw of `sample` then re-applies the defense with fresh randomness, so EOT
and majority votes average over the defense as well. Through a non-differentiable defense,
gradients follow its BPDA surrogate (or are zero, when its config turns BPDA off).

A stochastic victim (a method whose forward pass draws noise) takes that noise from its own
generator, seeded by the cell, so a fixed seed reproduces every number. During a cell's
evaluation the noise comes from per-sample streams instead (`bind`), keyed by the cell seed and
the sample ids, so a sample's noise does not depend on the batch it is evaluated in. `sample`
returns several independent draws at once; an encoder that can share work between draws (one
backbone pass for all noise copies) declares a `draws` keyword and gets them in one call.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from bench.contracts.finite import require_finite
from bench.contracts.plugins import Defense
from bench.contracts.randomness import RandomSource, SampleStreams


class ZeroShotVictim(torch.nn.Module):
    """What attacks see: a classifier over the class names it was built for."""

    class_embeddings: torch.Tensor  # a buffer: unit-norm [K, D]

    def __init__(
        self,
        encoder: torch.nn.Module,
        preprocess: Callable[[torch.Tensor], torch.Tensor],
        class_embeddings: torch.Tensor,
        class_names: tuple[str, ...],
        logit_scale: float,
        stochastic: bool = False,
        defense: Defense | None = None,
        noise_seed: int = 0,
    ) -> None:
        super().__init__()
        if class_embeddings.shape[0] != len(class_names):
            raise ValueError("one class embedding per class name is required")
        require_finite(
            class_embeddings,
            "The class embeddings",
            "the text encoder or its cached embeddings are damaged.",
        )
        self.encoder = encoder.eval()
        self.preprocess = preprocess
        self.register_buffer("class_embeddings", F.normalize(class_embeddings.float(), dim=-1))
        self.class_names = class_names
        self.logit_scale = float(logit_scale)
        self.noisy_encoder = stochastic
        self.defense = defense
        self._randomized_defense = defense is not None and defense.randomized
        self.stochastic = stochastic or self._randomized_defense
        self._batched_draws = "draws" in inspect.signature(encoder.forward).parameters
        self._noise: torch.Generator | None = None
        self.reseed(noise_seed)
        for parameter in self.encoder.parameters():
            parameter.requires_grad_(False)

    def reseed(self, seed: int) -> None:
        """Restart the noise stream of a stochastic victim."""
        self._seed = seed
        self._noise = None
        self._streams: SampleStreams | None = None

    def bind(self, streams: SampleStreams | None) -> None:
        """Draw noise for the next batches from these per-sample streams (None: the generator).

        Every call must then be on a batch of exactly those samples.
        """
        self._streams = streams

    @contextmanager
    def rows(self, index: torch.Tensor) -> Iterator[None]:
        """Calls inside are on these rows of the bound batch only (the other samples wait).

        An attack that stops working on the samples it has already fooled passes just the rest;
        their noise still comes from their own streams, so outcomes stay batch-invariant.
        """
        bound = self._streams
        if bound is not None:
            self._streams = bound.select(index.tolist())
        try:
            yield
        finally:
            self._streams = bound

    def _generator(self, device: torch.device) -> RandomSource:
        if self._streams is not None:
            return self._streams
        if self._noise is None or self._noise.device != device:
            self._noise = torch.Generator(device=device).manual_seed(self._seed)
        return self._noise

    def _defend(self, points: torch.Tensor, generator: RandomSource) -> torch.Tensor:
        defense = self.defense
        if defense is None:
            return points
        if defense.differentiable:
            return defense.apply(points, generator)
        with torch.no_grad():
            defended = defense.apply(points.detach(), generator)
        if defense.uses_bpda:
            return defense.surrogate(points, defended)
        # What autograd gives through a hard selection: the output, and no gradient at all.
        return defended + 0 * points.sum()

    def _encode(self, inputs: torch.Tensor, generator: RandomSource) -> torch.Tensor:
        if not self.noisy_encoder:
            return self.encoder(inputs)
        return self.encoder(inputs, generator=generator)

    def embed(self, points: torch.Tensor) -> torch.Tensor:
        """Unit-norm embedding [B, D] of (defended, preprocessed) clouds: one noise draw."""
        generator = self._generator(points.device)
        inputs = self.preprocess(self._defend(points, generator))
        return F.normalize(self._encode(inputs, generator), dim=-1)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.logit_scale * self.embed(points) @ self.class_embeddings.T

    def sample(self, points: torch.Tensor, draws: int) -> torch.Tensor:
        """Logits [draws, B, K] of independent noise draws (one draw if deterministic)."""
        if not self.stochastic or draws == 1:
            return self(points).unsqueeze(0)
        generator = self._generator(points.device)
        if self._randomized_defense:
            # Every draw defends its own copy: rows stacked draws-major, one stream block each.
            rows = points.repeat(draws, *([1] * (points.dim() - 1)))
            inputs = self.preprocess(self._defend(rows, generator))
            embeddings = self._encode(inputs, generator).unflatten(0, (draws, len(points)))
        else:
            inputs = self.preprocess(self._defend(points, generator))
            if self._batched_draws:
                embeddings = self.encoder(inputs, generator=generator, draws=draws)
            else:
                embeddings = torch.stack([self._encode(inputs, generator) for _ in range(draws)])
        return self.logit_scale * F.normalize(embeddings, dim=-1) @ self.class_embeddings.T

    @torch.no_grad()
    def confirm(
        self, points: torch.Tensor, classes: torch.Tensor, targeted: bool, success: torch.Tensor
    ) -> torch.Tensor:
        """`success` [B] kept only where a fresh majority vote agrees (stochastic victims).

        An attack that stops at a sample's first success, judged on one step's draws, takes
        the step whose draws happened to be fooled: over many steps some are, by chance (the
        winner's curse), and the fresh vote that judges the returned cloud undoes it. The
        confirming vote is that same kind of vote, cast once per claimed success.
        """
        if not self.stochastic or not success.any():
            return success
        from bench.adversarial.eot import VOTES

        rows = success.nonzero().flatten()
        with self.rows(rows):
            verdict = self.vote(points[rows], VOTES)
        hit = verdict == classes[rows] if targeted else verdict != classes[rows]
        confirmed = success.clone()
        confirmed[rows] = hit
        return confirmed

    @torch.no_grad()
    def vote(self, points: torch.Tensor, draws: int) -> torch.Tensor:
        """The majority prediction [B] over `draws` fresh draws (ties: the lowest class index).

        Every verdict a record holds comes from here, so non-finite logits fail the cell.
        """
        logits = self.sample(points, draws)
        require_finite(
            logits,
            f"The logits of {len(points)} clouds",
            "the encoder's weights or its input preprocessing produce NaN; no verdict is kept.",
        )
        return logits.argmax(dim=-1).mode(dim=0).values
