"""The one home directory that holds the result store and every cache.

Default `~/.bench`; the environment variable `BENCH_HOME` or the CLI flag `--home` moves it.
Layout: `store/` (result records), `weights/` (trained miniatures), `embeddings/` (text
embeddings), `data/` (generated datasets).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "BENCH_HOME"


def home() -> Path:
    """The current home directory (not created until something is written)."""
    return Path(os.environ.get(ENV_VAR) or Path.home() / ".bench").expanduser()


def subdir(name: str) -> Path:
    """A subdirectory of the home, created on demand."""
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
