"""Random numbers that belong to samples, so a sample's draws never depend on its batch.

Every random draw in an evaluation (an attack's random start and target, a stochastic victim's
noise) comes from a *source* handed to the code that draws:

- a `torch.Generator`: one stream for the whole batch (training, tests);
- `SampleStreams`: one stream per sample, keyed by the cell seed and the sample's id. Its k-th
  block for a sample is the same whatever the batch size or the sample's position, because a
  call on a batch draws the next block of each sample's own stream.

Plugins draw through `rand`, `randn` and `randint` here with whatever source they were given,
always with a leading batch dimension. A batch that is a multiple m of the samples (E draws of
B samples, stacked draws-major as [E * B]) takes m consecutive blocks of each sample's stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch

GOLDEN = 0x9E3779B97F4A7C15  # odd 64-bit constant: spreads a stream's call counter over seeds
SEED_MASK = (1 << 63) - 1


class SampleStreams:
    """Independent random streams, one per sample of a batch.

    Each sample's stream is a sequence of blocks (one seeded generator each), never reused: a
    call on a batch takes each sample's next blocks, so what a sample draws depends only on how
    many blocks it has taken before, not on the batch or its position. `select` narrows a call
    to some samples (an attack that stops on the samples already fooled); their streams
    advance and the others wait.
    """

    def __init__(self, seeds: Sequence[int]) -> None:
        self.seeds = [int(s) & SEED_MASK for s in seeds]
        self._taken = [0] * len(self.seeds)  # blocks each sample's stream has given out
        self._rows: list[int] = list(range(len(self.seeds)))

    @classmethod
    def for_samples(cls, seed: int, ids: Sequence[str], purpose: str) -> SampleStreams:
        """Streams keyed by (cell seed, purpose, sample id): e.g. purpose "attack" or "victim"."""
        return cls([_digest(f"{seed}\x1f{purpose}\x1f{sample}") for sample in ids])

    def __len__(self) -> int:
        return len(self._rows)

    def select(self, rows: Sequence[int]) -> SampleStreams:
        """The streams of these rows (positions in this batch), sharing their positions."""
        view = object.__new__(SampleStreams)
        view.seeds, view._taken = self.seeds, self._taken
        view._rows = [self._rows[int(r)] for r in rows]
        return view

    def generators(self, batch: int) -> list[torch.Generator]:
        """CPU generators for one call on `batch` rows (a multiple m of the samples).

        Rows are stacked draws-major ([m * B]): row k * B + i is sample i's k-th block of this call.
        """
        if batch == 0:
            return []
        if not self._rows or batch % len(self._rows):
            raise ValueError(f"a batch of {batch} rows does not fit {len(self)} sample streams")
        copies = batch // len(self._rows)
        first = [self._taken[r] for r in self._rows]
        for r in self._rows:
            self._taken[r] += copies
        return [
            torch.Generator().manual_seed((self.seeds[r] + (start + k) * GOLDEN) & SEED_MASK)
            for k in range(copies)
            for r, start in zip(self._rows, first, strict=True)
        ]


RandomSource = torch.Generator | SampleStreams | None  # None: torch's global generator


def rand(
    source: RandomSource,
    batch: int,
    *shape: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Uniform [0, 1) numbers [batch, *shape]."""
    return _draw(torch.rand, source, batch, shape, dtype, device)


def randn(
    source: RandomSource,
    batch: int,
    *shape: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Standard normal numbers [batch, *shape]."""
    return _draw(torch.randn, source, batch, shape, dtype, device)


def randint(
    source: RandomSource,
    high: int,
    batch: int,
    *shape: int,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Integers uniform in [0, high), shaped [batch, *shape]."""

    def draw(size: tuple[int, ...], **options: object) -> torch.Tensor:
        options.pop("dtype")
        return torch.randint(0, high, size, **options)  # type: ignore[call-overload]

    return _draw(draw, source, batch, shape, torch.long, device)


def _draw(
    function: object,
    source: RandomSource,
    batch: int,
    shape: tuple[int, ...],
    dtype: torch.dtype,
    device: torch.device | str | None,
) -> torch.Tensor:
    draw = function  # torch.rand, torch.randn or an equivalent taking (size, generator, ...)
    if isinstance(source, SampleStreams):
        rows = [
            draw(shape, generator=g, dtype=dtype, device="cpu")  # type: ignore[operator]
            for g in source.generators(batch)
        ]
        out = torch.stack(rows) if rows else torch.empty((0, *shape), dtype=dtype)
        return out.to(device) if device is not None else out
    where = source.device if source is not None else (device or "cpu")
    out = draw((batch, *shape), generator=source, dtype=dtype, device=where)  # type: ignore[operator]
    return out.to(device) if device is not None else out


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
