"""What a conformance check verified, one line per property, printed as each one passes.

A check that passes silently leaves its author guessing what it looked at; a failed assertion
names only the first property broken. So every check keeps a `Checklist`: "ok" lines for what
held, "--" lines for what did not apply to this plugin and why, returned and (by default)
printed as they happen, so the lines before a failure show how far the plugin got.
"""

from __future__ import annotations

import sys


class Checklist:
    """The lines of one plugin's check, e.g. "ok  attack pgd: budget respected (linf 0.05)"."""

    def __init__(self, kind: str, name: str, echo: bool = True) -> None:
        self.subject = f"{kind} {name}"
        self.echo = echo
        self.lines: list[str] = []

    def ok(self, what: str) -> None:
        """Record a property that held."""
        self._add(f"ok  {self.subject}: {what}")

    def skip(self, what: str, why: str) -> None:
        """Record a property not checked for this plugin, and why (it does not apply)."""
        self._add(f"--  {self.subject}: {what} not checked ({why})")

    def _add(self, line: str) -> None:
        self.lines.append(line)
        if self.echo:
            print(line, file=sys.stdout, flush=True)
