"""How cells run (device, batch size, rerun) and progress callbacks: never what a cell computes.

A leaf module with no harness imports, so every stage can name these types without cycles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[int, int], None]  # (done, total)
ProgressFactory = Callable[[str], Progress]  # a description -> its progress callback


def no_progress(description: str) -> Progress:
    return lambda done, total: None


@dataclass(frozen=True)
class Runtime:
    """How cells run; recorded in provenance but never part of a cell's hash."""

    device: str = "cpu"
    batch_size: int = 32
    rerun: bool = False
