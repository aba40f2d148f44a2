"""The record metrics schema: a real cell's metrics parse, and metrics that do not fit are one
sentence naming the key."""

from __future__ import annotations

import pytest

from bench.contracts.errors import DataError
from bench.contracts.metrics import CellMetrics
from bench.contracts.runtime import Runtime
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Store
from bench.testing.conformance import smoke_params


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    spec = {
        "methods": [{"name": "ulip", "params": smoke_params("methods", "ulip")}],
        "datasets": [{"name": "procedural40", "params": {"test_per_class": 2}}],
        "attacks": [{"name": "pgd", "params": smoke_params("attacks", "pgd")}],
    }
    store = Store(tmp_path_factory.mktemp("store"))
    (outcome,) = Runner(store, Runtime(batch_size=16)).run(expand(spec))
    assert outcome.record.status == "ok", outcome.record.error
    return outcome.record.metrics


def test_a_real_cells_metrics_parse_with_every_key_typed(metrics: dict[str, object]) -> None:
    typed = CellMetrics.parse(metrics, "the cell")
    assert typed.n == metrics["n"] == 20 and typed.robust_acc == metrics["robust_acc"]
    assert typed.robust_acc_ci == tuple(metrics["robust_acc_ci"])  # type: ignore[arg-type]
    assert typed.run_acc("adaptive") == metrics["robust_acc_adaptive"]
    assert typed.perturbation["linf"] == metrics["linf_mean"]
    known = {f for f in CellMetrics.__dataclass_fields__} | {
        f"{p}_mean" for p in typed.perturbation
    }
    assert set(metrics) <= known, f"metrics the schema does not name: {set(metrics) - known}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"robust_acc": "0.5"}, "robust_acc of the cell is '0.5', not a float"),
        ({"robust_acc_ci": [0.1]}, "robust_acc_ci of the cell must have 2 values"),
        ({"zero_shot": 1}, "zero_shot of the cell is 1, not a bool"),
        ({"n": None}, "n of the cell is None, not a int"),
    ],
)
def test_metrics_that_do_not_fit_are_one_sentence(
    metrics: dict[str, object], change: dict[str, object], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        CellMetrics.parse({**metrics, **change}, "the cell")


def test_missing_metrics_are_named(metrics: dict[str, object]) -> None:
    partial = {k: v for k, v in metrics.items() if k not in ("n", "clean_acc")}
    with pytest.raises(DataError, match="lack n, clean_acc"):
        CellMetrics.parse(partial, "the cell")
