"""Every result record is checked as it is read: its schema, its identity, its own arithmetic.

A record is served (tables, comparisons, the leaderboard, the reuse of a finished cell) only if

- it is JSON without NaN or infinity; every field has the type `Record` declares, its metrics
  fit `CellMetrics` and name nothing else, its per-sample columns have their types and one
  length, and the cell and provenance fields readers use have theirs (`bench.storage.schema`);
- its cell_hash is the hash of its cell (the store also checks that the file lies where that
  hash puts it);
- every number its per-sample outcomes determine is what they give: n, each accuracy with its
  interval, attack success, perturbation means, the curves by step, by size and by member,
  the generalised harmonic means, the per-sample `robust` verdicts and the list of runs. They
  are recomputed by the code the evaluation computed them with (`bench.contracts.accuracy`);
- the threat model its metrics name is the one its provenance declares.

Anything else is one sentence (`InvalidRecord`); the store sets the file aside and the next run
recomputes the cell. Numbers agree to 1e-9 relative, so a record computed with another numpy
or scipy is not recomputed over a last-digit difference.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from typing import Any

from bench.contracts.accuracy import (
    ACCURACIES,
    PERTURBATION_COLUMNS,
    SIZE_METRIC,
    correct,
    harmonic_mean,
    robust_after,
    robust_by_size,
    sample_metrics,
)
from bench.contracts.errors import ConfigError, DataError, StoreError
from bench.contracts.hashing import sha256_of
from bench.contracts.metrics import CellMetrics
from bench.contracts.plugins import ThreatModel
from bench.storage.record import SCHEMA_VERSION, Record
from bench.storage.schema import (
    COLUMN_KINDS,
    OTHER_COLUMN,
    REQUIRED_COLUMNS,
    REQUIRED_LABELS,
    CellFacts,
    Provenance,
    describe,
    mismatch,
    show,
)

RELATIVE_TOLERANCE = 1e-9
ABSENT = object()
_INTERVALS = [f"{name}_ci" for name in (*ACCURACIES, "robust_acc_unaware")]
DERIVED = (
    "n",
    *ACCURACIES,
    "robust_acc_unaware",
    *_INTERVALS,
    "attack_success_rate",
    *(f"{name}_mean" for name in PERTURBATION_COLUMNS),
    "robust_acc_by_step",
)
METRIC_NAMES = {f.name for f in dataclasses.fields(CellMetrics)} - {"perturbation"} | {
    f"{name}_mean" for name in PERTURBATION_COLUMNS
}
GENERALISED = ("seen", "unseen", "harmonic")
MINIMUM = {"gradient_queries": 0, "wall_s": 0, "eot_draws": 1, "votes": 1}


class InvalidRecord(StoreError):
    """A stored record that does not fit its schema or disagrees with its own samples."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, reason)
        self.source, self.reason = source, reason
        self.moved_to: str | None = None  # set once the store has set the file aside

    def __str__(self) -> str:
        if self.moved_to is None:
            return f"The result record {self.source} {self.reason}; it is left out."
        return (
            f"The result record {self.source} {self.reason}; it was moved to {self.moved_to}"
            " and the next run recomputes its cell."
        )


class _Invalid(Exception):
    """A reason a record is invalid, as the clause that follows "The result record X"."""


def read_record(text: str | bytes, source: str) -> Record:
    """The record in `text` if it passes every check of the module docstring; InvalidRecord
    naming the first that fails if not."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        record = _typed(data)
        _check_record(record)
    except _Invalid as problem:
        raise InvalidRecord(source, str(problem)) from None
    except ValueError as error:  # not JSON, not UTF-8
        raise InvalidRecord(source, f"is unreadable ({error})") from None
    return record


def _check_record(record: Record) -> None:
    """Raise _Invalid unless the well-typed `record` is consistent with itself."""
    if record.cell_hash != sha256_of(record.cell):
        raise _Invalid(f"has cell_hash {record.cell_hash[:16]}, which is not the hash of its cell")
    for problem in (
        mismatch(record.cell, CellFacts, "cell"),
        mismatch(record.provenance, Provenance, "provenance"),
    ):
        if problem is not None:
            raise _Invalid(problem)
    missing = [name for name in REQUIRED_LABELS if name not in record.labels]
    if missing:
        raise _Invalid(f"has no {missing[0]} label")
    if record.status == "failed":
        if not record.error or record.metrics or record.samples:
            raise _Invalid("is a failure without an error, or with metrics or samples")
        return
    if record.status != "ok":
        raise _Invalid(f"has status {show(record.status)}, not 'ok' or 'failed'")
    if record.error is not None:
        raise _Invalid("is ok but carries an error")
    _check_metric_types(record.metrics)
    _check_columns(record.samples)
    try:
        _check_numbers(record)
    except (ArithmeticError, TypeError, ValueError, KeyError, IndexError) as error:
        raise _Invalid(f"has numbers that cannot be checked ({error})") from None


def _typed(data: Any) -> Record:
    """The record of a JSON object whose fields have the types `Record` declares."""
    if not isinstance(data, dict):
        raise _Invalid("is not a JSON object")
    names = [f.name for f in dataclasses.fields(Record)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise _Invalid(f"has an unknown field {show(unknown[0])}")
    missing = [name for name in names if name not in data]
    if missing:
        raise _Invalid(f"lacks its {missing[0]} field")
    hints = typing.get_type_hints(Record)
    for name in names:
        problem = mismatch(data[name], hints[name], name)
        if problem is not None:
            raise _Invalid(problem)
    if data["schema_version"] != SCHEMA_VERSION:
        raise _Invalid(f"has schema version {data['schema_version']}, not {SCHEMA_VERSION}")
    if len(data["cell_hash"]) != 64 or data["cell_hash"].strip("0123456789abcdef"):
        raise _Invalid(f"has cell_hash {show(data['cell_hash'])}, not 64 hexadecimal digits")
    return Record(**data)


def _check_metric_types(metrics: dict[str, Any]) -> None:
    unknown = sorted(set(metrics) - METRIC_NAMES)
    if unknown:
        raise _Invalid(f"has an unknown metric {show(unknown[0])}")
    try:
        CellMetrics.parse(metrics, "the record")
    except DataError as error:
        text = str(error).rstrip(".")
        raise _Invalid(
            f"has metrics that do not fit their schema: {text[0].lower()}{text[1:]}"
        ) from None
    for name, least in MINIMUM.items():
        if name in metrics and metrics[name] < least:
            raise _Invalid(f"has {name} {show(metrics[name])}, below {least}")
    reported = metrics.get("reported_acc")
    if reported is not None and not 0 <= reported <= 1:
        raise _Invalid(f"has reported_acc {show(reported)}, not a fraction in [0, 1]")


def _check_columns(samples: dict[str, list[Any]]) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in samples]
    if missing:
        raise _Invalid(f"lacks the per-sample column {missing[0]}")
    n = len(samples["label"])
    for name, values in samples.items():
        if len(values) != n:
            raise _Invalid(f"has {len(values)} values in its per-sample column {name}, not {n}")
        kinds = COLUMN_KINDS.get(name, OTHER_COLUMN)
        wrong = next((v for v in values if type(v) not in kinds), ABSENT)
        if wrong is not ABSENT:
            raise _Invalid(f"has {show(wrong)} in its column {name}, not {describe(kinds)}")
    if len(set(samples["id"])) != n:
        raise _Invalid("has the same sample id twice")


def _check_numbers(record: Record) -> None:
    """The metrics the samples determine are what they give (module docstring)."""
    samples, metrics = record.samples, record.metrics
    n = len(samples["label"])
    derived = sample_metrics(samples, _attack_steps(record.cell, metrics))
    for name in DERIVED:
        _agree(name, metrics.get(name, ABSENT), derived.get(name, ABSENT), n)
    if samples["robust"] != correct(samples, "robust").tolist():
        raise _Invalid("has per-sample robust verdicts that its predictions do not give")
    runs = ["adaptive"] + [run for run in ("naive", "unaware") if f"adv_pred_{run}" in samples]
    if metrics.get("runs") != runs:
        raise _Invalid(f"names the runs {show(metrics.get('runs'))} where its samples hold {runs}")
    _check_by_size(metrics.get("robust_acc_by_size"), samples, record.provenance)
    after = metrics.get("robust_acc_after")
    if after is not None or "fooled_by" in samples:  # a sequence of attacks has both
        fooled_by = [v for v in samples.get("fooled_by", []) if v is not None]
        if after is None or "fooled_by" not in samples or max(fooled_by, default=-1) >= len(after):
            raise _Invalid("has robust_acc_after and fooled_by that do not go together")
        _agree("robust_acc_after", after, robust_after(samples, list(after)), n)
    _check_member_steps(metrics.get("member_steps"), after)
    _check_generalised(metrics, n)
    _check_threat_model(metrics, record.provenance)


def _check_by_size(by_size: Any, samples: dict[str, list[Any]], provenance: dict[str, Any]) -> None:
    """The curve by perturbation size is the one the samples give, and it is there whenever
    the declared threat model penalises a distance the samples measure and some are fooled."""
    penalised = provenance.get("threat_model", {}).get("penalised") or [None]
    expected = SIZE_METRIC.get(penalised[0])
    if by_size is None:
        derived = robust_by_size(samples, expected) if expected in samples else None
        if derived is not None:
            raise _Invalid("lacks robust_acc_by_size, which its samples give")
        return
    metric = by_size.get("metric")
    if not isinstance(metric, str) or metric not in samples or expected not in (None, metric):
        raise _Invalid(f"has a robust_acc_by_size curve of {show(metric)}, not of its penalty")
    _agree("robust_acc_by_size", by_size, robust_by_size(samples, metric) or ABSENT, 0)


def _check_generalised(metrics: dict[str, Any], n: int) -> None:
    """Seen and unseen accuracies need the class names to recompute; what they must satisfy
    is checked: all or none present, harmonic means, and some number k of seen samples for
    which every accuracy is a whole count over its group and the overall ones their sum."""
    names = [f"{o}_acc_{part}" for o in ("clean", "robust") for part in GENERALISED]
    present = [metrics.get(name) is not None for name in names]
    if not any(present):
        return
    if not all(present):
        raise _Invalid("has some of the seen/unseen accuracies and not the others")
    for outcome in ("clean", "robust"):
        seen, unseen, harmonic = (metrics[f"{outcome}_acc_{part}"] for part in GENERALISED)
        _agree(f"{outcome}_acc_harmonic", harmonic, harmonic_mean(seen, unseen), 0)
    if not any(_seen_count_fits(metrics, n, k) for k in range(1, n)):
        raise _Invalid("has seen/unseen accuracies that no split of its samples gives")


def _seen_count_fits(metrics: dict[str, Any], n: int, k: int) -> bool:
    """Whether k seen samples (n - k unseen) give the record's seen, unseen and overall
    accuracies, clean and robust."""
    for outcome in ("clean", "robust"):
        seen, unseen = metrics[f"{outcome}_acc_seen"], metrics[f"{outcome}_acc_unseen"]
        right_seen, right_unseen = seen * k, unseen * (n - k)
        if not (_whole(right_seen) and _whole(right_unseen) and 0 <= seen <= 1 >= unseen >= 0):
            return False
        if abs(metrics[f"{outcome}_acc"] * n - right_seen - right_unseen) > 1e-6:
            return False
    return True


def _whole(count: float) -> bool:
    return abs(count - round(count)) < 1e-6


def _check_threat_model(metrics: dict[str, Any], provenance: dict[str, Any]) -> None:
    """The threat model the tables group by is the one the record's provenance declares."""
    declared = provenance.get("threat_model")
    if declared is None and "threat_model" not in metrics:
        return
    if declared is None or "threat_model" not in metrics:
        raise _Invalid("names a threat model in its metrics or its provenance, not in both")
    try:
        threat = ThreatModel(
            declared["norm"],
            declared["eps"],
            declared.get("points_added", 0),
            declared.get("points_dropped", 0),
            tuple(declared.get("penalised", ())),
            bool(declared.get("reordered", False)),
        )
    except (ValueError, ConfigError) as error:
        raise _Invalid(f"declares a threat model that is none ({error})") from None
    if metrics["threat_model"] != threat.describe():
        raise _Invalid(
            f"says its threat model is {show(metrics['threat_model'])} where its provenance"
            f" declares {threat.describe()!r}"
        )


def _agree(name: str, stored: Any, derived: Any, n: int) -> None:
    if stored is ABSENT and derived is ABSENT:
        return
    if stored is ABSENT:
        raise _Invalid(f"lacks {name}, which its samples give")
    if derived is ABSENT:
        raise _Invalid(f"has {name}, which its samples do not give")
    if not same(stored, derived):
        raise _Invalid(f"says {name} is {show(stored)} where its {n} samples give {show(derived)}")


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values, numbers to RELATIVE_TOLERANCE: what "the same number" means here."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _check_member_steps(member_steps: Any, after: Any) -> None:
    """A sequence's stretches of steps name its members, in order, each a positive count."""
    if member_steps is None:
        return
    counts = list(member_steps.values())
    if (
        after is None
        or list(member_steps) != list(after)
        or not all(type(c) is int and c > 0 for c in counts)
    ):
        raise _Invalid(f"has member_steps {show(member_steps)} that its members do not have")


def _attack_steps(cell: dict[str, Any], metrics: dict[str, Any]) -> int | None:
    """The attack's step count as the evaluation read it (`bench.evaluation.cell`): a
    sequence's is its members' together."""
    steps = cell.get("attack", {}).get("config", {}).get("steps")
    if isinstance(steps, int):
        return steps
    members = metrics.get("member_steps")
    if isinstance(members, dict) and all(type(c) is int for c in members.values()):
        return sum(members.values())
    return None


def _refuse_constant(name: str) -> Any:
    raise _Invalid(f"holds {name}, which no record may (JSON has no NaN or infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Invalid(f"holds the number {text}, too large to be a finite float")
    return value
