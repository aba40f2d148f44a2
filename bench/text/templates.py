"""Named prompt-template sets, kept as data so a class embedding is traceable to its exact prompts.

`ulip64` is ULIP's `modelnet40_64` list (salesforce/ULIP, data/templates.json) copied verbatim and
in order, including its one template without a final period: the published zero-shot numbers
were computed with exactly these strings. `single` is the one-prompt ablation.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources

from bench.contracts.errors import UsageError, shown

_FILE = "templates.json"


@cache
def _sets() -> dict[str, tuple[str, ...]]:
    text = resources.files(__package__).joinpath(_FILE).read_text(encoding="utf-8")
    return {name: tuple(prompts) for name, prompts in json.loads(text).items()}


def names() -> list[str]:
    """The available template-set names, sorted."""
    return sorted(_sets())


def templates(name: str) -> tuple[str, ...]:
    """The prompts of one set, in order; each holds `{}` once, where the class name goes."""
    sets = _sets()
    if name in sets:
        return sets[name]
    hints = difflib.get_close_matches(str(name)[:100], sets, n=3)
    hint = f" Did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
    raise UsageError(f"Unknown template set {shown(name)}.{hint} Available: {', '.join(names())}.")
