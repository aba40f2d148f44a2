"""The runner: budget violations fail a cell visibly, failed cells are retried, ok cells reused."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from bench.contracts.errors import ThreatModelViolation
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel
from bench.contracts.runtime import Runtime
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Store
from bench.testing.conformance import smoke_params

TINY_METHOD = {"name": "ulip", "params": smoke_params("methods", "ulip")}
TINY_DATA = {"name": "procedural40", "params": {"test_per_class": 1}}


@dataclass(frozen=True)
class OverreachConfig:
    eps: float = 0.01
    overreach: float = 2.0  # moves points by overreach * eps: outside its own budget


class Overreach(Attack[OverreachConfig]):
    """A deliberately broken attack that leaves its declared L-inf ball."""

    Config = OverreachConfig
    version = 1
    info = PluginInfo(display="overreach", description="test attack exceeding its budget")

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm="linf", eps=self.config.eps)

    def run(self, victim, points, labels, generator) -> AttackOutput:  # type: ignore[no-untyped-def]
        moved = points.clone()
        moved[..., 0] += self.config.overreach * self.config.eps
        return AttackOutput(points=moved)


def test_violation_fails_the_cell_which_is_retried_then_reused(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    runner = Runner(store, Runtime(batch_size=16))
    with ATTACKS.temporary():
        ATTACKS.register("overreach")(Overreach)
        broken = expand(
            {"methods": [TINY_METHOD], "datasets": [TINY_DATA], "attacks": ["overreach"]}
        )
        (outcome,) = runner.run(broken)
        assert outcome.record.status == "failed"
        assert "ThreatModelViolation" in outcome.record.error
        assert "linf budget" in outcome.record.error
        assert store.get(broken[0].hash).status == "failed"  # stored, visible
        (again,) = runner.run(broken)
        assert not again.reused and again.record.status == "failed"  # retried, not reused

        fine = expand(
            {
                "methods": [TINY_METHOD],
                "datasets": [TINY_DATA],
                "attacks": [{"name": "overreach", "params": {"overreach": 1.0}}],
            }
        )
        (first,) = runner.run(fine)
        assert first.record.status == "ok" and not first.reused
        (second,) = runner.run(fine)
        assert second.reused and second.record == first.record
        assert first.record.metrics["linf_mean"] == pytest.approx(0.01, abs=1e-6)


class InPlace(Overreach):
    """A deliberately broken attack that edits the clouds it was given and returns them."""

    info = PluginInfo(display="in place", description="test attack mutating its input")

    def run(self, victim, points, labels, generator) -> AttackOutput:  # type: ignore[no-untyped-def]
        points[..., 0] += self.config.overreach * self.config.eps  # hidden: measured change 0
        return AttackOutput(points=points)


def test_an_attack_that_edits_its_input_in_place_fails_the_cell(tmp_path: Path) -> None:
    runner = Runner(Store(tmp_path / "store"), Runtime(batch_size=16))
    with ATTACKS.temporary():
        ATTACKS.register("in_place")(InPlace)
        cells = expand({"methods": [TINY_METHOD], "datasets": [TINY_DATA], "attacks": ["in_place"]})
        (outcome,) = runner.run(cells)
    assert outcome.record.status == "failed"
    assert "modified its input clouds in place" in outcome.record.error


class Flaky(Overreach):
    """A deliberately unreliable attack: fine, until the test breaks it (same config, same cell)."""

    info = PluginInfo(display="flaky", description="test attack that fails when told to")
    broken = False
    nan_stats = False

    def run(self, victim, points, labels, generator) -> AttackOutput:  # type: ignore[no-untyped-def]
        if Flaky.broken:
            raise RuntimeError("the flaky attack broke")
        stats = {"loss_start": torch.full((len(points),), float("nan"))} if Flaky.nan_stats else {}
        return AttackOutput(points=points.clone(), stats=stats)


def test_a_failing_rerun_keeps_the_stored_result_and_a_nan_result_fails_the_cell(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "store")
    with ATTACKS.temporary():
        ATTACKS.register("flaky")(Flaky)
        cells = expand({"methods": [TINY_METHOD], "datasets": [TINY_DATA], "attacks": ["flaky"]})
        (good,) = Runner(store, Runtime(batch_size=16)).run(cells)
        assert good.record.status == "ok"
        Flaky.broken = True
        try:
            (rerun,) = Runner(store, Runtime(batch_size=16, rerun=True)).run(cells)
        finally:
            Flaky.broken = False
        assert rerun.record.status == "failed" and "flaky attack broke" in rerun.record.error
        assert store.get(cells[0].hash) == good.record  # the failure replaced nothing
        Flaky.nan_stats = True
        try:
            (nan,) = Runner(Store(tmp_path / "other"), Runtime(batch_size=16)).run(cells)
        finally:
            Flaky.nan_stats = False
        assert nan.record.status == "failed" and "NaN, infinite" in nan.record.error


def test_budget_tolerance_scales_with_the_coordinates() -> None:
    from bench.evaluation.threat import check_threat_model

    clean = 300.0 * torch.rand(2, 64, 3, generator=torch.Generator().manual_seed(0))
    moved = clean + 0.01  # exactly on the L-inf bound, up to rounding at magnitude 300
    check_threat_model(ThreatModel("linf", 0.01), clean, moved)
    with pytest.raises(ThreatModelViolation, match="exceed the linf budget"):
        check_threat_model(ThreatModel("linf", 0.01), clean, clean + 0.0102)
    with pytest.raises(ThreatModelViolation, match="float64"):
        check_threat_model(ThreatModel("linf", 0.01), clean, moved.double())


def test_summary_counts_success_among_clean_correct_samples() -> None:
    from bench.evaluation.summary import summarize

    samples = {
        "label": [0, 1, 2, 3],
        "clean_pred": [0, 1, 2, 0],  # three clean-correct
        "adv_pred": [1, 1, 0, 0],  # two of them flipped
        "loss_start": [1.0, 1.0, 1.0, 1.0],
        "loss_final": [0.5, 0.5, 0.5, 0.5],
    }
    metrics = summarize(samples, ThreatModel("linf", 0.05))
    assert metrics["clean_acc"] == 0.75 and metrics["robust_acc"] == 0.25
    assert metrics["attack_success_rate"] == pytest.approx(2 / 3)
    assert metrics["warnings"] == ["the attack did not increase the loss"]
    targeted = summarize({**samples, "target": [1, 0, 0, 1]}, ThreatModel("linf", 0.0))
    assert targeted["attack_success_rate"] == pytest.approx(2 / 3)  # samples 0 and 2 hit
    assert targeted["warnings"] == []
