"""Paths a user names for output (`--out`, `--home`), checked before any work starts.

A command may compute for an hour and only then write; a typo in its last argument must not
cost that hour, nor end in a traceback. A missing directory is created with its parents, as
`mkdir -p` would: every writer here creates the directories it needs, so the check does the
same and a new path behaves alike everywhere. Anything else in the way (a file or named pipe
where a directory belongs, a directory where a file belongs, a location this user may not
write) is one `WriteError` sentence naming the path the user gave.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bench.contracts.errors import WriteError, clipped
from bench.storage.small_text import KINDS


def writable_directory(path: Path, what: str, hint: str = "") -> Path:
    """`path` as a directory this process can write in, created with its parents if missing.

    `what` names its role in the sentence ("the site directory"); `hint` is added after a
    semicolon, for roles with another way out ("choose another with --home DIR").
    """
    problem = _directory_problem(path, path)
    if problem is not None:
        raise _error(path, what, problem, hint)
    return path


def writable_file(path: Path, what: str, hint: str = "") -> Path:
    """`path` as a file this process can write (or replace), its directory created if missing."""
    mode = _mode(path)
    if mode is not None and not stat.S_ISREG(mode):
        problem: str | None = f"it is {_kind(mode)}, not a regular file"
    else:
        problem = _directory_problem(path.parent, path)
    if problem is not None:
        raise _error(path, what, problem, hint)
    return path


def _directory_problem(directory: Path, given: Path) -> str | None:
    """Why `directory` cannot be made a writable directory, or None once it is one; `given`
    is the path the user named, so the sentence can call it "it"."""
    for candidate in (directory, *directory.parents):
        mode = _mode(candidate)
        if mode is None:
            continue  # missing: made below, with the ones under it
        if not stat.S_ISDIR(mode):
            where = "it" if candidate == given else clipped(str(candidate))
            return f"{where} is {_kind(mode)}, not a directory"
        break
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"the directory {clipped(str(directory))} cannot be created ({error.strerror})"
    except ValueError as error:  # a NUL byte: possible from Python callers, not a shell
        return f"it is not a valid path ({error})"
    if not os.access(directory, os.W_OK | os.X_OK):
        where = "it" if directory == given else f"the directory {clipped(str(directory))}"
        return f"{where} is not writable by this user"
    return None


def _mode(path: Path) -> int | None:
    """The file type and permissions at `path`, or None where nothing can be seen there."""
    try:
        return os.stat(path).st_mode
    except (OSError, ValueError):
        return None


def _kind(mode: int) -> str:
    return "a file" if stat.S_ISREG(mode) else KINDS.get(stat.S_IFMT(mode), "a special file")


def _error(path: Path, what: str, problem: str, hint: str) -> WriteError:
    advice = f"; {hint}" if hint else ""
    return WriteError(f"Cannot use {clipped(str(path))} as {what}: {problem}{advice}.")
