"""The one home directory that holds the result store and every cache.

Default `~/.bench`; the environment variable `BENCH_HOME` or the CLI flag `--home` moves it.
Layout: `store/` (result records), `weights/` (trained miniatures), `embeddings/` (text
embeddings), `data/` (generated datasets).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.contracts.errors import UsageError
from bench.storage.outputs import writable_directory

ENV_VAR = "BENCH_HOME"
HINT = "choose another with --home DIR or BENCH_HOME"


def home() -> Path:
    """The current home directory (not created until something is written)."""
    return Path(os.environ.get(ENV_VAR) or Path.home() / ".bench").expanduser()


def subdir(name: str) -> Path:
    """A subdirectory of the home, created on demand; a home that cannot be written (a file in
    the way, no permission) is one WriteError sentence, before anything is computed for it."""
    writable_directory(home(), "the home directory", HINT)
    return writable_directory(home() / name, "a directory of the home", HINT)


def existing_home() -> Path:
    """The home directory, which must exist: for commands that only read it."""
    path = home()
    if not path.is_dir():
        state = "is not a directory" if path.exists() else "does not exist"
        raise UsageError(
            f"The home directory {path} {state}: nothing has been run with it"
            " (--home DIR or BENCH_HOME chooses another)."
        )
    return path
