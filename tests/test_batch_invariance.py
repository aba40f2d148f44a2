"""Per-sample randomness: a sample's draws and outcome do not depend on the batch it is in."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.contracts.randomness import SampleStreams, rand, randint, randn
from bench.contracts.runtime import Runtime
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Store
from bench.testing.conformance import smoke_params


def test_a_samples_draws_are_the_same_alone_and_in_any_batch() -> None:
    alone = SampleStreams.for_samples(3, ["x"], "attack")
    batch = SampleStreams.for_samples(3, ["a", "x", "b"], "attack")
    for draw in (lambda s, b: randn(s, b, 5, 3), lambda s, b: rand(s, b, 2)):
        assert torch.equal(draw(alone, 1)[0], draw(batch, 3)[1])
    assert torch.equal(randint(alone, 40, 2), randint(batch, 40, 6)[[1, 4]])  # 2 draws each
    other = SampleStreams.for_samples(4, ["x"], "attack")  # another cell seed
    assert not torch.equal(randn(alone, 1, 8), randn(other, 1, 8))
    with pytest.raises(ValueError, match="does not fit 3 sample streams"):
        randn(batch, 4, 2)


def test_a_samples_draws_depend_only_on_its_own_history() -> None:
    alone = SampleStreams.for_samples(3, ["x"], "victim")
    batch = SampleStreams.for_samples(3, ["a", "x", "b"], "victim")
    for _ in range(2):  # "x" alone is drawn for twice (an attack still working on it)
        assert torch.equal(randn(batch.select([1]), 1, 4), randn(alone, 1, 4))
    assert torch.equal(randn(batch, 6, 4)[[1, 4]], randn(alone, 2, 4))  # its 3rd and 4th blocks
    fresh = SampleStreams.for_samples(3, ["a"], "victim")
    assert torch.equal(randn(batch, 3, 4)[0], randn(fresh, 3, 4)[2])  # "a" waited: its 3rd


@pytest.mark.parametrize("method", ["ulip", "dual_denoise"])  # deterministic, stochastic
def test_outcomes_agree_at_batch_sizes_7_and_32(tmp_path: Path, method: str) -> None:
    spec = {
        "methods": [{"name": method, "params": smoke_params("methods", method)}],
        "corpus": {"name": "procedural40", "params": {"train_per_class": 5}},
        "datasets": [
            {"name": "procedural40", "params": {"test_per_class": 2}, "classes": "modelnet10"}
        ],
        "attacks": [{"name": "pgd", "params": {"steps": 4, "restarts": 2, "eot_draws": 4}}],
    }
    (cell,) = expand(spec)
    records = []
    for batch_size in (7, 32):
        store = Store(tmp_path / f"store{batch_size}")
        (outcome,) = Runner(store, Runtime(batch_size=batch_size)).run([cell])
        assert outcome.record.status == "ok", outcome.record.error
        records.append(outcome.record)
    small, large = (r.samples for r in records)
    assert records[0].metrics["stochastic"] is (method == "dual_denoise")
    for key in ("clean_pred", "adv_pred", "success_step", "robust", "target"):
        assert small.get(key) == large.get(key), key
    if method == "dual_denoise":
        assert small["adv_pred_naive"] == large["adv_pred_naive"]
    for key in ("linf", "l2", "loss_final"):
        assert small[key] == pytest.approx(large[key], abs=1e-4), key
    assert records[0].metrics["robust_acc"] == records[1].metrics["robust_acc"]
