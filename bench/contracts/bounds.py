"""Declared bounds of config fields, checked when a config is built.

A value of the right type can still be absurd: 3 heads for a width of 128, a learning rate of
1e30, a 23-digit seed, a device named "tpu". Without bounds such a value passes `--dry-run` and
fails inside a cell as a raw error, or worse, trains NaN weights that give a number. Every
plugin Config calls `require` from its `__post_init__`, so the value is one sentence naming
`plugin.field`, the value and what is allowed, before anything runs.

    def __post_init__(self) -> None:
        require(self, "ulip", {"lr": LR, "heads": (integer(1, 64), divides("width"))})
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bench.contracts.errors import ConfigError, shown


class Rule(Protocol):
    """One bound on a field's value; `config` is there for bounds relative to other fields."""

    def problem(self, value: Any, config: Any) -> str | None:
        """What the value must be ("in (0, 10]"), or None when it is allowed."""
        ...


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


@dataclass(frozen=True)
class Interval:
    """A finite number (an integer when `integer`) between `low` and `high`, either open."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def problem(self, value: Any, config: Any) -> str | None:
        return None if self._allows(value) else self.describe()

    def _allows(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if self.integer else int | float):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or not (
            value > self.high or (self.high_open and value == self.high)
        )

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a finite number"
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"{kind} in {left}{_number(self.low)}, {_number(self.high)}{right}"
        if self.low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {_number(self.low)}"
        if self.high is not None:
            return f"{kind} {'<' if self.high_open else '<='} {_number(self.high)}"
        return kind


def integer(low: int | None = None, high: int | None = None) -> Interval:
    """An integer in [low, high]."""
    return Interval(low, high, integer=True)


def number(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> Interval:
    """A finite number in [low, high] (or an open end); never NaN or infinite."""
    return Interval(low, high, low_open, high_open)


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of values (names, usually)."""

    choices: tuple[Any, ...]

    def problem(self, value: Any, config: Any) -> str | None:
        if any(value == choice and type(value) is type(choice) for choice in self.choices):
            return None
        return f"one of {', '.join(map(repr, self.choices))}"


def one_of(*choices: Any) -> OneOf:
    return OneOf(choices)


@dataclass(frozen=True)
class Matches:
    """A string matching `pattern` as a whole; `description` says what that is to a user."""

    pattern: str
    description: str

    def problem(self, value: Any, config: Any) -> str | None:
        if isinstance(value, str) and re.fullmatch(self.pattern, value):
            return None
        return self.description


PATH_BYTES, NAME_BYTES = 4_096, 255  # PATH_MAX and NAME_MAX of Linux and macOS


@dataclass(frozen=True)
class FilePath:
    """Text the operating system can take as a path (empty: unset), so that a pasted blob is
    one sentence here rather than "File name too long" or "embedded null byte" in a cell."""

    def problem(self, value: Any, config: Any) -> str | None:
        if isinstance(value, str) and "\0" not in value and len(value.encode()) <= PATH_BYTES:
            names = re.split(r"[/\\]", value)
            if all(len(name.encode()) <= NAME_BYTES for name in names):
                return None
        return f"a file path (at most {PATH_BYTES} bytes, {NAME_BYTES} per name)"


@dataclass(frozen=True)
class Divides:
    """A positive integer that divides another field (attention heads split a width evenly)."""

    other: str

    def problem(self, value: Any, config: Any) -> str | None:
        total = getattr(config, self.other)
        if isinstance(value, int) and value > 0 and isinstance(total, int) and total % value == 0:
            return None
        return f"a divisor of {self.other} ({shown(total)})"


def divides(other: str) -> Divides:
    return Divides(other)


@dataclass(frozen=True)
class AtMost:
    """No larger than another field (a group cannot hold more points than the cloud)."""

    other: str

    def problem(self, value: Any, config: Any) -> str | None:
        limit = getattr(config, self.other)
        try:
            if value <= limit:
                return None
        except TypeError:
            pass
        return f"at most {self.other} ({shown(limit)})"


def at_most(other: str) -> AtMost:
    return AtMost(other)


@dataclass(frozen=True)
class Each:
    """A list whose every item satisfies `rule`."""

    rule: Rule

    def problem(self, value: Any, config: Any) -> str | None:
        if isinstance(value, tuple | list):
            problems = [self.rule.problem(item, config) for item in value]
            if not any(problems):
                return None
        return f"a list of items that are each {self.rule.problem(None, config)}"


def each(rule: Rule) -> Each:
    return Each(rule)


@dataclass(frozen=True)
class OrNone:
    """None, or a value that satisfies `rule` (a field whose None means "the default")."""

    rule: Rule

    def problem(self, value: Any, config: Any) -> str | None:
        if value is None:
            return None
        found = self.rule.problem(value, config)
        return None if found is None else f"None or {found}"


def optional(rule: Rule) -> OrNone:
    return OrNone(rule)


# Bounds shared by many plugins, so one setting means the same range everywhere.
SEED = integer(0, 2**32 - 1)  # what every random generator accepts (numpy's is 32-bit)
LR = number(0, 10, low_open=True)
WEIGHT_DECAY = number(0, 10)
EPOCHS = integer(1, 10_000)
STEPS = integer(0, 100_000)  # 0: the attack returns the clean clouds (a zero budget)
BATCH_SIZE = integer(1, 65_536)
EOT_DRAWS = integer(0, 10_000)  # 0: automatic
RESTARTS = integer(1, 1_000)
EPS = number(0, 1_000)  # an L2 budget over a whole cloud of a few thousand points stays below
POINTS = integer(1, 1_000_000)
KEPT_POINTS = integer(0, 1_000_000)  # a dataset's first N points of each cloud; 0 keeps all
WIDTH = integer(1, 16_384)
DEPTH = integer(1, 256)
HEADS = integer(1, 1_024)
LOGIT_SCALE = number(0, 1_000, low_open=True)  # CLIP clamps its learned scale at 100
FLAG = one_of(False, True)  # a bool given by a Python caller, where no type check ran
DEVICE = Matches(r"cpu|cuda(?::[0-9]{1,3})?|mps", "a device such as cpu, cuda, cuda:1 or mps")
RUN_DEVICE = Matches(r"cpu|cuda(?::[0-9]{1,3})?", "cpu, cuda or cuda:N")  # where cells run
PATH = FilePath()

Rules = Mapping[str, Rule | Sequence[Rule]]

# A miniature's training recipe (`bench.training.loop.Schedule` takes these fields).
TRAINING_RULES: Rules = {
    "epochs": EPOCHS,
    "batch_size": BATCH_SIZE,
    "lr": LR,
    "weight_decay": WEIGHT_DECAY,
}
# A Point-BERT backbone's sizes, as `bench.nn.backbone.PointBertConfig` and the method configs
# that name them (ulip, dual_denoise) hold them: attention heads split the width evenly.
POINT_BERT_RULES: Rules = {
    "num_groups": integer(1, 8_192),
    "group_size": integer(1, 1_024),
    "width": WIDTH,
    "depth": DEPTH,
    "heads": (HEADS, divides("width")),
    "encoder_dims": WIDTH,
    "encoder_widths": each(WIDTH),
}
# A method that cuts clouds to `num_points` and groups them into `num_groups` patches of
# `group_size` points (checked after the sizes themselves, in a second `require`).
PATCH_RULES: Rules = {
    "num_points": POINTS,
    "num_groups": at_most("num_points"),
    "group_size": at_most("num_points"),
}


def require(config: Any, plugin: str, rules: Rules) -> None:
    """Raise one ConfigError sentence for the first field of `config` outside its rules.

    Fields are checked in the order given, so a bound relative to another field (`divides`,
    `at_most`) comes after that field's own rule.
    """
    for field, rule_or_rules in rules.items():
        value = getattr(config, field)
        for rule in (rule_or_rules,) if not isinstance(rule_or_rules, Sequence) else rule_or_rules:
            check(value, rule, f"{plugin}.{field}", config)


def check(value: Any, rule: Rule, name: str, config: Any = None) -> None:
    """Raise one ConfigError sentence when `value` (called `name`) is outside `rule`."""
    problem = rule.problem(value, config)
    if problem is not None:
        raise ConfigError(f"{name} must be {problem}, not {shown(value)}.")
