"""The `bench` command run in-process, as a test runs it, and held to one error sentence.

`bench.cli.main` with stdout and stderr captured costs milliseconds where a subprocess costs an
interpreter start and a torch import, so a test can try hundreds of bad inputs. An exception
that escapes `main` is what a user would see as a traceback; it is written to the captured
stderr as the interpreter would write it, so the same assertion catches both.
"""

from __future__ import annotations

import contextlib
import io
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from bench.cli import main

# `python -c TORCH_PROBE ARGS`: `bench ARGS` in a fresh interpreter, its exit code kept, saying
# last on stderr whether torch was imported (start-up cost is mostly that import).
TORCH_PROBE = """
import sys
from bench.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("torch imported:", "torch" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


@dataclass(frozen=True)
class Outcome:
    """What a user would see: the exit code and both streams."""

    code: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str]) -> Outcome:
    """`bench ARGS` in this process; argparse's exits and escaped exceptions become codes."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse: usage errors and --help
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
        except Exception:  # a user would see this traceback: keep it for the assertion
            traceback.print_exc()
            code = 1
    return Outcome(code, stdout.getvalue(), stderr.getvalue())


def one_error(args: Sequence[str]) -> str:
    """The one error line `bench ARGS` prints; fails unless it exits non-zero with exactly one
    line that says "error:" (argparse's usage lines around it are allowed) and no traceback."""
    outcome = run_cli(args)
    errors = [line for line in outcome.stderr.splitlines() if "error:" in line]
    assert "Traceback" not in outcome.stderr, (list(args), outcome.stderr)
    assert outcome.code != 0, (list(args), outcome.stdout, outcome.stderr)
    assert len(errors) == 1, (list(args), outcome.stderr)
    return errors[0]
