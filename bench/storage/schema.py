"""The types of a stored record, field by field, and where a JSON value first departs from them.

`Record`'s own annotations type its fields; `CellMetrics` types its metrics. What they leave as
`Any` is typed here as far as anything reads it: the cell identity and provenance fields the
tables and the leaderboard use (`CellFacts`, `Provenance`; other keys are free), and each
per-sample column (`COLUMN_KINDS`). JSON holds only objects, lists, strings, numbers, booleans
and null, so these few shapes are all a check needs.
"""

# No postponed annotations here: TypedDict reads NotRequired only from evaluated ones.

import types
import typing
from typing import Any, NotRequired, TypedDict

from bench.contracts.accuracy import PERTURBATION_COLUMNS

NONE = type(None)
NUMBER = (float, int)  # an integral float is written as an int by some writers
COLUMN_KINDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "label": (int,),
    "clean_pred": (int,),
    "adv_pred": (int,),
    "adv_pred_naive": (int,),
    "adv_pred_unaware": (int,),
    "robust": (bool,),
    "target": (int, NONE),
    "fooled_by": (int, NONE),
    "success_step": (int, NONE),
    "success_step_naive": (int, NONE),
    **{name: NUMBER for name in PERTURBATION_COLUMNS},
}
OTHER_COLUMN = (*NUMBER, bool, NONE)  # an attack's own per-sample statistics
REQUIRED_COLUMNS = ("id", "label", "clean_pred", "adv_pred", "robust")
REQUIRED_LABELS = ("method", "teacher", "corpus", "dataset", "attack", "defense")  # Cell.labels


class Choice(TypedDict, total=False):
    """A plugin in a cell's identity (`bench.plan.choice.Choice.identity`)."""

    name: str
    version: int
    config: dict[str, Any]


class CellFacts(TypedDict, total=False):
    """The parts of a cell identity that readers look into."""

    seed: int
    method: Choice
    dataset: Choice
    attack: Choice
    defense: Choice


class Plugin(TypedDict):
    name: str
    version: int
    origin: NotRequired[str]


class Weights(TypedDict):
    kind: str
    sha256: str
    file: str
    trained_now: bool


class Threat(TypedDict):
    norm: str
    eps: float
    points_added: NotRequired[int]
    points_dropped: NotRequired[int]
    penalised: NotRequired[list[str]]


class Reported(TypedDict):
    top1: float
    source: str
    note: NotRequired[str | None]


class Provenance(TypedDict, total=False):
    """The provenance fields that tables, the site and `bench results` read."""

    seed: int
    started_at: str
    finished_at: str
    git_commit: str | None
    git_dirty: bool | None
    plugins: dict[str, Plugin]
    weights: Weights
    threat_model: Threat
    reported: Reported
    dataset_fingerprint: str
    traceback: str


def mismatch(value: Any, annotation: Any, where: str) -> str | None:
    """Where `value` first departs from `annotation`, as a clause ("has x.y 3, not a string");
    None if it fits."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if typing.is_typeddict(annotation):
        if not isinstance(value, dict):
            return _not(value, where, "a JSON object")
        missing = sorted(annotation.__required_keys__ - value.keys())
        if missing:
            return f"has {where} without {missing[0]}"
        hints = typing.get_type_hints(annotation)
        found = (mismatch(value[k], hints[k], f"{where}.{k}") for k in hints if k in value)
        return next((m for m in found if m is not None), None)
    if origin is dict:
        if not isinstance(value, dict):
            return _not(value, where, "a JSON object")
        found = (mismatch(v, arguments[1], f"{where}.{k}") for k, v in value.items())
        return next((m for m in found if m is not None), None)
    if origin is list:
        if not isinstance(value, list):
            return _not(value, where, "a list")
        found = (mismatch(v, arguments[0], f"{where}[{i}]") for i, v in enumerate(value))
        return next((m for m in found if m is not None), None)
    kinds = scalar_kinds(annotation)
    if kinds is None or type(value) in kinds:
        return None
    return _not(value, where, describe(kinds))


def scalar_kinds(annotation: Any) -> tuple[type, ...] | None:
    """The JSON value types an annotation of scalars admits (ints pass as floats); None: any."""
    if annotation is Any:
        return None
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds: tuple[type, ...] = ()
        for member in typing.get_args(annotation):
            inner = scalar_kinds(member)
            if inner is None:
                return None
            kinds += inner
        return kinds
    return NUMBER if annotation is float else (annotation,)


def describe(kinds: tuple[type, ...]) -> str:
    """The kinds in words: "a string or null"."""
    words = {str: "a string", int: "an integer", bool: "true or false", NONE: "null"}
    named = ["a number" if float in kinds else ""] + [
        words[k] for k in kinds if k in words and not (k is int and float in kinds)
    ]
    return " or ".join(n for n in named if n)


def show(value: Any) -> str:
    """A value as it would be quoted in a sentence, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _not(value: Any, where: str, what: str) -> str:
    return f"has {where} {show(value)}, not {what}"
