"""Absurd config values are one sentence before anything runs, never a raw error inside a cell.

Each case was reproduced against the command line: it passed `--dry-run`, then failed in the
cell with a traceback's last line, trained NaN weights, or hung. Every one now exits with code 2
and one line on stderr from `bench run ... --dry-run`, which builds no model and trains nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from bench.contracts.bounds import (
    LR,
    SEED,
    at_most,
    divides,
    each,
    integer,
    number,
    one_of,
    optional,
    require,
)
from bench.contracts.config import build_config
from bench.contracts.errors import ConfigError, shown


@dataclass(frozen=True)
class Sizes:
    width: int = 128
    heads: int = 4
    points: int = 64
    groups: int = 8
    widths: tuple[int, ...] = (8, 16)
    lr: float = 1e-3
    step: float | None = None
    mode: str = "a"
    seed: int = 0

    def __post_init__(self) -> None:
        require(
            self,
            "toy",
            {
                "width": integer(1, 1024),
                "heads": (integer(1, 64), divides("width")),
                "points": integer(1),
                "groups": at_most("points"),
                "widths": each(integer(1, 1024)),
                "lr": LR,
                "step": optional(number(0, 1, low_open=True)),
                "mode": one_of("a", "b"),
                "seed": SEED,
            },
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("heads", 3, "toy.heads must be a divisor of width (128), not 3."),
        ("heads", 0, "toy.heads must be an integer in [1, 64], not 0."),
        ("groups", 65, "toy.groups must be at most points (64), not 65."),
        ("widths", (8, 0), "toy.widths must be a list of items that are each an integer in"),
        ("lr", 1e30, "toy.lr must be a finite number in (0, 10], not 1e+30."),
        ("lr", 0.0, "toy.lr must be a finite number in (0, 10], not 0.0."),
        ("lr", math.nan, "toy.lr must be a finite number in (0, 10], not nan."),
        ("step", 0.0, "toy.step must be None or a finite number in (0, 1], not 0.0."),
        ("mode", "c", "toy.mode must be one of 'a', 'b', not 'c'."),
        ("seed", 2**32, "toy.seed must be an integer in [0, 4294967295], not 4294967296."),
        ("seed", True, "toy.seed must be an integer in [0, 4294967295], not True."),
        ("width", 1.0, "toy.width must be an integer in [1, 1024], not 1.0."),
    ],
)
def test_a_value_outside_its_rule_is_one_sentence(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Sizes(**{field: value})  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_values_inside_their_rules_pass() -> None:
    Sizes(heads=64, groups=64, lr=10.0, step=1.0, mode="b", seed=2**32 - 1, widths=())


def test_a_long_value_is_clipped_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        Sizes(mode="x" * 20_000)
    message = str(caught.value)
    assert len(message) < 200 and message.endswith("….")
    assert shown("x" * 10) == "'xxxxxxxxxx'" and len(shown("x" * 100)) == 80


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lr": math.nan}, "toy.lr must be a finite number, not nan."),
        ({"lr": -math.inf}, "toy.lr must be a finite number, not -inf."),
        ({"lr": 10**400}, "toy.lr must be a finite number, not 1000"),
        ({"widths": "abc"}, "toy.widths must be a list, not 'abc'."),
    ],
)
def test_typed_values_are_finite(params: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(Sizes, params, "toy")
    assert str(caught.value).startswith(message)


def test_a_fixed_length_tuple_takes_that_many_values() -> None:
    from baselines.ulip import UlipConfig

    with pytest.raises(ConfigError, match=r"ulip.encoder_widths must be a list of 3 values, not 1"):
        build_config(UlipConfig, {"encoder_widths": [1]}, "ulip")
    built = build_config(UlipConfig, {"encoder_widths": [8, 16, 32]}, "ulip")
    assert built.encoder_widths == (8, 16, 32)
