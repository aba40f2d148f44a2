"""The ranking attack `standard` in a real cell: one step axis through its members, each
member's stretch judged for convergence, and the across-cell check that no other gradient
attack of its track is significantly stronger."""

from __future__ import annotations

from pathlib import Path

from bench.contracts.indicators import BY_CODE, indicator_of
from bench.contracts.runtime import Runtime
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Record, Store
from bench.testing.conformance import smoke_params
from bench.testing.records import stored_record
from leaderboard.indicators import cross_cell_warnings

TINY_METHOD = {"name": "ulip", "params": smoke_params("methods", "ulip")}
TINY_DATA = {"name": "procedural40", "params": {"test_per_class": 1, "points": 256}}


def test_a_standard_cell_records_each_members_stretch_of_one_step_curve(tmp_path: Path) -> None:
    cells = expand(
        {
            "methods": [TINY_METHOD],
            "datasets": [TINY_DATA],
            "attacks": [{"name": "standard", "params": {"eps": 0.05}}],
        }
    )
    store = Store(tmp_path / "store")
    (outcome,) = Runner(store, Runtime(batch_size=8)).run(cells)
    metrics, samples = outcome.record.metrics, outcome.record.samples
    assert metrics["member_steps"] == {"apgd-ce": 100, "apgd-dlr-t": 100, "random-search": 1000}
    curve = metrics["robust_acc_by_step"]
    assert len(curve) == 1201 and curve[-1] == metrics["robust_acc"]  # a deterministic victim
    starts = {0: 0, 1: 100, 2: 200}
    fooled = 0
    for member, step in zip(samples["fooled_by"], samples["success_step"], strict=True):
        if member is not None and member >= 0:
            fooled += 1
            assert (
                starts[member]
                <= step
                <= starts[member] + metrics["member_steps"][list(metrics["member_steps"])[member]]
            )
    assert fooled > 0
    # The robust accuracy after each member is the curve at the end of its stretch.
    for end, after in zip((100, 200, 1200), metrics["robust_acc_after"].values(), strict=True):
        assert curve[end] == after
    # What the store serves back passes its checks, curve and stretches included.
    served = store.get(outcome.record.cell_hash)
    assert served is not None and served.metrics["robust_acc_by_step"] == curve


def cell(attack: str, robust: list[bool], eps: float = 0.01) -> Record:
    return stored_record([0 if right else 1 for right in robust], attack=attack, eps=eps)


def test_a_gradient_attack_stronger_than_the_ranking_one_flags_the_ranked_cell() -> None:
    standard = cell("standard", [True] * 15 + [False] * 5)
    # PGD fools 6 clouds the ranking attack left robust: exact McNemar p = 2 / 64 < 0.05.
    stronger = cell("pgd", [False] * 6 + [True] * 9 + [False] * 5)
    (sentence,) = cross_cell_warnings([standard, stronger])[standard.cell_hash]
    assert indicator_of(sentence) is BY_CODE["stronger_gradient_attack"]
    assert "pgd left fewer samples robust than this ranking attack (45.0% vs 75.0%" in sentence
    # 5 such clouds give p = 0.0625: chance; a weaker PGD flags nothing.
    close = cell("pgd", [False] * 5 + [True] * 10 + [False] * 5)
    assert cross_cell_warnings([standard, close]) == {}
    assert cross_cell_warnings([standard, cell("pgd", [True] * 20)]) == {}
    # Another budget is another track: not compared.
    assert cross_cell_warnings([standard, cell("pgd", [False] * 20, eps=0.02)]) == {}
