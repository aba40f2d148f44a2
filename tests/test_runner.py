"""The runner: budget violations fail a cell visibly, failed cells are retried, ok cells reused."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel
from bench.contracts.runtime import Runtime
from bench.running.runner import Runner
from bench.running.spec import expand
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


def test_summary_counts_success_among_clean_correct_samples() -> None:
    from bench.evaluation.cell import summarize

    samples = {
        "label": [0, 1, 2, 3],
        "clean_pred": [0, 1, 2, 0],  # three clean-correct
        "adv_pred": [1, 1, 0, 0],  # two of them flipped
        "loss_start": [1.0, 1.0, 1.0, 1.0],
        "loss_final": [0.5, 0.5, 0.5, 0.5],
    }
    metrics = summarize(samples, eps=0.05)
    assert metrics["clean_acc"] == 0.75 and metrics["robust_acc"] == 0.25
    assert metrics["attack_success_rate"] == pytest.approx(2 / 3)
    assert metrics["warnings"] == ["the attack did not increase the loss"]
    targeted = summarize({**samples, "target": [1, 0, 0, 1]}, eps=0.0)
    assert targeted["attack_success_rate"] == pytest.approx(2 / 3)  # samples 0 and 2 hit
    assert targeted["warnings"] == []
