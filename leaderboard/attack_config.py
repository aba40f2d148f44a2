"""An attack cell's configuration in a few words, and its identity, from the stored cell alone.

A bare name hides how hard an attack tried: PGD with 10 steps and with 200 share the name
`pgd`. The description is read from the cell's attack identity (name, version, config) the
same way for every plugin, so a new attack needs nothing here: counts (steps, restarts,
points) with their number, switches that are on (targeted), choices (loss, source), and a
step size relative to the budget. Other numbers (learning rates, loss constants) are left
out to keep it short; the identity, a hash of the whole, still tells such configs apart.
No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.contracts.hashing import sha256_of

THREAT_FIELDS = ("norm", "eps")  # what a track's title already says


def attack_key(attack: Mapping[str, Any]) -> str:
    """Equal exactly when two cells ran the same attack, version and config."""
    return sha256_of(dict(attack))


def describe(attack: Mapping[str, Any], *, threat: bool = False) -> str:
    """E.g. "pgd v5 (200 steps, step eps/10, random start, 1 restart)".

    `threat`: also say the norm and budget, for tables that mix budgets (a track's title
    says them, so its pages leave them out).
    """
    config = attack.get("config")
    config = config if isinstance(config, Mapping) else {}
    eps = config.get("eps")
    parts = []
    if threat and isinstance(eps, int | float) and not isinstance(eps, bool):
        parts.append(f"{config.get('norm', 'eps')} {eps:g}")
    parts += [
        part
        for key, value in config.items()
        if key not in THREAT_FIELDS and (part := _part(key, value, eps))
    ]
    version = attack.get("version")
    head = str(attack.get("name", "?")) + ("" if version is None else f" v{version}")
    return f"{head} ({', '.join(parts)})" if parts else head


def _part(key: str, value: Any, eps: Any) -> str | None:
    """One config field in words, or None for one left out (off, automatic, a constant)."""
    words = key.replace("_", " ")
    if value is None or value is False or value == "" or isinstance(value, Mapping | list):
        return None
    if value is True:
        return words
    if isinstance(value, str):
        return f"{words} {value}"
    if isinstance(value, int):
        return None if value == 0 else f"{value} {_singular(words) if value == 1 else words}"
    if isinstance(value, float) and "step" in key and value > 0:
        if not isinstance(eps, int | float) or not eps:
            return f"step {value:g}"
        ratio = eps / value
        return f"step eps/{ratio:.3g}" if ratio >= 1 else f"step {value / eps:.3g} eps"
    return None


def _singular(words: str) -> str:
    """ "restarts" -> "restart", "target classes" -> "target class"."""
    if words.endswith("sses"):
        return words[:-2]
    return words[:-1] if words.endswith("s") else words
