"""The metrics of a cell's record, as one typed schema.

The evaluation writes a record's metrics as a JSON object; the leaderboard reads them back
through `CellMetrics`, so every key has one name and one type, defined here, and a record whose
metrics do not fit is one sentence instead of a KeyError deep in a table.
Accuracies are fractions in [0, 1]; `<name>_ci` is the 95% Wilson interval [low, high].
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bench.contracts.errors import DataError

Interval = tuple[float, float]


@dataclass(frozen=True)
class CellMetrics:
    """What a cell measured: accuracies with intervals, the attack's traits, indicators."""

    n: int
    clean_acc: float
    clean_acc_ci: Interval
    robust_acc: float  # the per-sample worst case over every attack run
    robust_acc_ci: Interval
    attack_success_rate: float
    warnings: tuple[str, ...] = ()  # sentences of `bench.contracts.indicators`
    zero_shot: bool | None = None  # no evaluated class name was in the training corpus
    open_vocabulary: bool = False  # pre-trained on free captions: not verifiably zero-shot
    threat_model: str = ""
    access: str = ""
    runs: tuple[str, ...] = ()
    stochastic: bool = False
    eot_draws: int = 1
    votes: int = 1
    logit_scale: float = 1.0
    gradient_queries: int = 0
    wall_s: float = 0.0
    robust_acc_adaptive: float | None = None
    robust_acc_adaptive_ci: Interval | None = None
    robust_acc_naive: float | None = None
    robust_acc_naive_ci: Interval | None = None
    robust_acc_unaware: float | None = None
    robust_acc_unaware_ci: Interval | None = None
    robust_acc_by_step: tuple[float, ...] | None = None  # had the attack stopped after k steps
    robust_acc_by_size: Mapping[str, Any] | None = None  # {"metric", "sizes", "robust_acc"}
    robust_acc_after: Mapping[str, float] | None = None  # after each member of a sequence
    member_steps: Mapping[str, int] | None = None  # a sequence's members' stretches of steps
    reported_acc: float | None = None  # the release authors' number for this evaluation
    clean_acc_seen: float | None = None  # generalised zero-shot: seen and unseen names mixed
    clean_acc_unseen: float | None = None
    clean_acc_harmonic: float | None = None
    robust_acc_seen: float | None = None
    robust_acc_unseen: float | None = None
    robust_acc_harmonic: float | None = None
    # Mean perturbation sizes over the attacked samples, by name (`<size>_mean` in the record).
    perturbation: Mapping[str, float] = field(default_factory=dict)

    def run_acc(self, run: str) -> float | None:
        """The accuracy of one attack run ("adaptive", "naive", "unaware"), if it ran."""
        value = getattr(self, f"robust_acc_{run}")
        return value if run in self.runs or run == "adaptive" else None

    @classmethod
    def parse(cls, metrics: Mapping[str, Any], where: str) -> CellMetrics:
        """The typed metrics of a record; a DataError naming the first key that does not fit."""
        if not isinstance(metrics, Mapping):
            raise DataError(f"The metrics of {where} are not a JSON object.")
        hints = _field_types()
        values: dict[str, Any] = {"perturbation": {}}
        for key, value in metrics.items():
            if key.endswith("_mean"):
                values["perturbation"][key[: -len("_mean")]] = _typed(value, float, key, where)
            elif key in hints and key != "perturbation":
                values[key] = _typed(value, hints[key], key, where)
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
            and f.name not in values
        ]
        if missing:
            raise DataError(f"The metrics of {where} lack {', '.join(missing)}.")
        return cls(**values)


@cache
def _field_types() -> dict[str, Any]:
    """The fields' types, resolved once: every record read parses its metrics."""
    return typing.get_type_hints(CellMetrics)


def _typed(value: Any, annotation: Any, key: str, where: str) -> Any:
    """`value` checked against the field's type (ints pass as floats, lists as tuples)."""
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        (annotation,) = [a for a in arguments if a is not type(None)]
        return _typed(value, annotation, key, where)
    if annotation is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, bool, str) and type(value) is annotation:
        return value
    if origin is tuple and isinstance(value, list | tuple):
        inner = arguments[0]
        if arguments[-1] is not Ellipsis and len(value) != len(arguments):
            raise DataError(f"The metric {key} of {where} must have {len(arguments)} values.")
        return tuple(_typed(v, inner, key, where) for v in value)
    if origin is Mapping and isinstance(value, Mapping):
        return dict(value)
    raise DataError(f"The metric {key} of {where} is {value!r}, not a {_name(annotation)}.")


def _name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)
