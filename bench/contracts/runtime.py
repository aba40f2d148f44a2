"""How cells run (device, batch size, rerun) and progress reports: never what a cell computes.

A leaf module with no harness imports, so every stage can name these types without cycles.

Progress is ambient: any stage (data generation, text embedding, training, an attack) asks
`progress(description)` for a callback and reports `(done, total)` to it; the command line
installs where reports go (`reporting_to`), and without it they go nowhere. Plugins report
the same way, with no parameter in their contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

# (done, total), and optionally a short status such as "2 running, 1 failed"
Progress = Callable[..., None]
ProgressFactory = Callable[[str], Progress]  # a description -> its progress callback


def no_progress(description: str) -> Progress:
    return lambda done, total, status="": None


_REPORTER: ContextVar[ProgressFactory] = ContextVar("bench_progress", default=no_progress)


def progress(description: str) -> Progress:
    """A callback for one task's progress, reported wherever the caller's reporter sends it."""
    return _REPORTER.get()(description)


@contextmanager
def reporting_to(factory: ProgressFactory) -> Iterator[None]:
    """Send every task's progress inside this block to `factory`."""
    token = _REPORTER.set(factory)
    try:
        yield
    finally:
        _REPORTER.reset(token)


@dataclass(frozen=True)
class Runtime:
    """How cells run; recorded in provenance but never part of a cell's hash."""

    device: str = "cpu"
    batch_size: int = 32
    rerun: bool = False
