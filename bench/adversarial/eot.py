"""Expectation over Transformation (Athalye et al., 2018) for victims with a random forward pass.

A plain gradient attack on a random classifier follows the gradient of one noise draw, which
points somewhere random, and overestimates robustness (obfuscated gradients). EOT averages the
gradient over several draws per step; the verdict on each sample is a majority over fresh draws.
Every gradient attack has an `eot_draws` config field, resolved here, so the harness can also run
the attack naively (one draw) and report both numbers side by side.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.contracts.plugins import Attack
    from bench.contracts.victim import Victim

# Both constants shape stored results without appearing in cell configs: changing either one
# must bump `bench.plan.cells.CELL_SCHEMA`, so that stored cells are recomputed.
# Draws averaged per gradient step against a stochastic victim when the attack asks for "auto" (0).
# AutoAttack's randomized version uses 20; 16 shares one backbone pass when the method batches them.
DEFAULT_EOT_DRAWS = 16
# Fresh draws whose majority decides a stochastic victim's prediction (odd: fewer ties).
VOTES = 9
FIELD = "eot_draws"


def resolve_draws(requested: int, victim: Victim) -> int:
    """Draws per gradient step: 1 for a deterministic victim; else as requested, 0 = default."""
    if not victim.stochastic:
        return 1
    return requested if requested > 0 else DEFAULT_EOT_DRAWS


def has_eot(attack: Attack[Any]) -> bool:
    """Whether the attack's config follows the `eot_draws` convention."""
    return any(f.name == FIELD for f in fields(attack.config))


def attack_draws(attack: Attack[Any], victim: Victim) -> int:
    """The draws this attack averages per step against this victim (1 without EOT support)."""
    return resolve_draws(getattr(attack.config, FIELD), victim) if has_eot(attack) else 1


def naive_variant(attack: Attack[Any], victim: Victim) -> Attack[Any] | None:
    """The same attack with EOT off, when it would differ from `attack` on this victim."""
    if not victim.stochastic or attack_draws(attack, victim) == 1:
        return None
    naive = type(attack)(replace(attack.config, **{FIELD: 1}))
    if attack.auxiliary is not None:
        naive.bind_auxiliary(attack.auxiliary)
    return naive
