"""Progress on stderr: bars on a terminal, plain timestamped lines in a log file or a pipe.

A job whose output goes to a file (nohup, CI, a cluster queue) must still show that it is alive
and how far it has come, so off a terminal each task prints a line when it starts, then at most
one every `interval` seconds (done/total, rate, time left), and one when it ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from bench.contracts.runtime import Progress, ProgressFactory, reporting_to

LOG_INTERVAL_S = 30.0


@contextmanager
def progress_reporter(stream: TextIO | None = None) -> Iterator[None]:
    """Report every task's progress inside the block on `stream`, suited to where it goes."""
    stream = stream or sys.stderr
    if stream.isatty():
        with _bars(stream) as factory, reporting_to(factory):
            yield
    else:
        with reporting_to(lambda description: LineProgress(description, stream)):
            yield


class LineProgress:
    """One task's progress as plain lines, rate-limited."""

    def __init__(self, description: str, stream: TextIO, interval: float = LOG_INTERVAL_S) -> None:
        self.description, self.stream, self.interval = description, stream, interval
        self.started = time.monotonic()
        self.printed: float | None = None

    def __call__(self, done: int, total: int, status: str = "") -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        if self.printed is not None and not finished and now - self.printed < self.interval:
            return
        self.printed = now
        elapsed = now - self.started
        line = f"{time.strftime('%H:%M:%S')} {self.description}: {done}/{total}"
        if total > 0:
            line += f" ({100 * done / total:.0f}%)"
        if done > 0 and elapsed > 0:
            rate = done / elapsed
            line += f", {rate:.3g}/s"
            line += f", done in {_duration(elapsed)}" if finished else ""
            if not finished and total > done:
                line += f", about {_duration((total - done) / rate)} left"
        line += f"; {status}" if status else ""
        print(line, file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


@contextmanager
def _bars(stream: TextIO) -> Iterator[ProgressFactory]:
    """Rich bars, started with the first task so a command without tasks draws nothing."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.progress import Progress as Bars

    bars = Bars(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(file=stream),
        redirect_stdout=False,  # stdout carries only results
        redirect_stderr=False,
    )

    def factory(description: str) -> Progress:
        if not bars.live.is_started:
            bars.start()
        task = bars.add_task(description, total=None)

        def report(done: int, total: int, status: str = "") -> None:
            label = f"{description} ({status})" if status else description
            bars.update(task, completed=done, total=total, description=label)

        return report

    try:
        yield factory
    finally:
        bars.stop()
