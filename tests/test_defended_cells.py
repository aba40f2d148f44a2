"""Defended and transfer cells: which attack runs a cell makes, and how they combine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.contracts.plugins import ThreatModel
from bench.contracts.runtime import Runtime
from bench.evaluation.summary import summarize
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Record, Store
from bench.testing.conformance import smoke_params
from bench.testing.records import record_metrics
from leaderboard.indicators import cross_cell_warnings

TINY_METHOD = {"name": "ulip", "params": smoke_params("methods", "ulip")}
TINY_DATA = {"name": "procedural40", "params": {"test_per_class": 1}}
PGD = {"name": "pgd", "params": {"eps": 0.01, "steps": 3}}


def run(tmp_path: Path, attacks: list[Any], defenses: list[Any]) -> list[Record]:
    cells = expand(
        {
            "methods": [TINY_METHOD],
            "datasets": [TINY_DATA],
            "attacks": attacks,
            "defenses": defenses,
        }
    )
    outcomes = Runner(Store(tmp_path / "store"), Runtime(batch_size=8)).run(cells)
    records = [o.record for o in outcomes]
    assert all(r.status == "ok" for r in records), [r.error for r in records]
    return records


def test_a_defended_cell_is_the_worst_case_of_its_adaptive_and_unaware_runs(
    tmp_path: Path,
) -> None:
    sor, srs = run(tmp_path, [PGD], ["sor", {"name": "srs", "params": {"drop": 200}}])
    assert sor.metrics["runs"] == ["adaptive", "unaware"] and not sor.metrics["stochastic"]
    assert srs.metrics["runs"] == ["adaptive", "naive", "unaware"]
    assert srs.metrics["stochastic"] and srs.metrics["votes"] == 9
    for record in (sor, srs):
        label, clean = record.samples["label"], record.samples["clean_pred"]
        runs = [
            record.samples[c]
            for c in ("adv_pred", "adv_pred_naive", "adv_pred_unaware")
            if c in record.samples
        ]
        robust = [
            clean[i] == label[i] and all(run[i] == label[i] for run in runs)
            for i in range(len(label))
        ]
        assert record.samples["robust"] == robust
        assert record.metrics["robust_acc"] <= record.metrics["robust_acc_unaware"]
        # Only the clean-correct samples were attacked; the others kept their clean clouds.
        wrong = [i for i in range(len(label)) if clean[i] != label[i]]
        assert wrong and len(wrong) < len(label)
        for i in range(len(label)):
            attacked = i not in wrong
            assert (record.samples["loss_start"][i] is not None) is attacked
            assert all(run[i] == clean[i] for run in runs) or attacked
            assert (record.samples["linf"][i] > 0) is attacked


def test_transfer_from_the_method_itself_equals_the_white_box_attack(tmp_path: Path) -> None:
    transfer = {"name": "transfer", "params": {"source": "ulip", "attack": "pgd", "eps": 0.01}}
    white = {"name": "pgd", "params": {"eps": 0.01}}
    crafted, direct = run(tmp_path, [transfer, white], ["none"])
    assert crafted.metrics["runs"] == ["adaptive"] and crafted.metrics["access"] == "transfer"
    assert crafted.samples["adv_pred"] == direct.samples["adv_pred"]
    assert "transfer_source" in crafted.cell and "transfer_source" not in direct.cell


def samples(adaptive: list[int], unaware: list[int]) -> dict[str, list[Any]]:
    n = len(adaptive)
    return {
        "label": [1] * n,
        "clean_pred": [1] * n,
        "adv_pred": adaptive,
        "adv_pred_unaware": unaware,
    }


def test_an_unaware_attack_beating_the_adaptive_one_is_flagged_only_when_significant() -> None:
    linf = ThreatModel("linf", 0.01)
    # 12 samples the unaware attack broke that the adaptive one did not: p = 0.0005.
    flagged = summarize(samples([1] * 12 + [0] * 8, [0] * 20), linf)
    assert any("defense-unaware attack" in w for w in flagged["warnings"])
    assert flagged["robust_acc"] == 0.0 and flagged["robust_acc_adaptive"] == 0.6
    quiet = summarize(samples([1] * 2 + [0] * 18, [0] * 20), linf)  # two samples: p = 0.5
    assert not any("defense-unaware" in w for w in quiet["warnings"])


def test_an_unbounded_attack_that_leaves_samples_robust_is_flagged() -> None:
    unbounded = ThreatModel("unbounded", penalised=("l2",))
    weak = {**samples([1] * 10 + [0] * 90, [0] * 100), "l2": [0.1] * 100}
    weak.pop("adv_pred_unaware")
    assert any("unbounded attack left 10.0%" in w for w in summarize(weak, unbounded)["warnings"])
    strong = {**weak, "adv_pred": [0] * 100}
    metrics = summarize(strong, unbounded)
    assert metrics["warnings"] == []
    assert metrics["robust_acc_by_size"]["robust_acc"][-1] == 0.0


def record(hash_: str, attack: dict[str, Any], access: str, robust: list[bool]) -> Record:
    n = len(robust)
    return Record(
        cell_hash=hash_,
        cell={"method": "m", "seed": 0, "attack": attack},
        labels={"attack": attack["name"]},
        status="ok",
        metrics=record_metrics(n, 1.0, sum(robust) / n, access=access),
        samples={
            "id": [str(i) for i in range(n)],
            "label": [1] * n,
            "clean_pred": [1] * n,
            "adv_pred": [1 if r else 0 for r in robust],
        },
        provenance={"threat_model": {"norm": "linf", "eps": attack["config"]["eps"]}},
    )


def test_cross_cell_indicators_flag_masking_and_a_budget_that_does_not_help() -> None:
    pgd = {"name": "pgd", "config": {"eps": 0.01, "step_size": 0.001}}
    pgd_larger = {"name": "pgd", "config": {"eps": 0.02, "step_size": 0.002}}
    search = {"name": "random_search", "config": {"eps": 0.01}}
    white = record("w", pgd, "gradient", [True] * 15 + [False] * 5)
    larger = record("l", pgd_larger, "gradient", [True] * 15 + [False] * 5)
    black = record("b", search, "scores", [False] * 20)
    warnings = cross_cell_warnings([white, larger, black])
    assert any("random_search left fewer samples robust" in w for w in warnings["w"])
    assert any("larger budget did not lower" in w for w in warnings["l"])
    assert "b" not in warnings
    honest = record("b", search, "scores", [True] * 14 + [False] * 6)
    assert cross_cell_warnings([white, honest]) == {}


def test_a_masking_test_fires_on_its_holm_adjusted_p_over_the_tables_pairs() -> None:
    pgd = {"name": "pgd", "config": {"eps": 0.01, "step_size": 0.001}}
    white = record("w", pgd, "gradient", [True] * 15 + [False] * 5)
    # Each gradient-free run fools 6 samples PGD left robust: exact McNemar p = 2 / 64.
    fooled = [False] * 6 + [True] * 9 + [False] * 5
    search = record("s", {"name": "random_search", "config": {"eps": 0.01}}, "scores", fooled)
    noise = record("r", {"name": "noise", "config": {"eps": 0.01}}, "random", fooled)
    (alone,) = cross_cell_warnings([white, search])["w"]
    assert "p = 0.031 after Holm over 1 pair(s)" in alone
    assert cross_cell_warnings([white, search, noise]) == {}  # 2 pairs: each adjusted to 0.0625


@pytest.mark.parametrize("bpda", [True, False])
def test_sor_config_round_trips_bpda(bpda: bool) -> None:
    (cell,) = expand(
        {
            "methods": [TINY_METHOD],
            "datasets": [TINY_DATA],
            "attacks": ["none"],
            "defenses": [{"name": "sor", "params": {"bpda": bpda}}],
        }
    )
    assert cell.defense.config.bpda is bpda


def test_successes_judged_on_the_attacks_own_draws_must_hold_on_fresh_ones() -> None:
    linf = ThreatModel("linf", 0.01)
    n = 20
    base = {"label": [1] * n, "clean_pred": [1] * n, "success_step": [3] * n}
    undone = summarize({**base, "adv_pred": [1] * 12 + [0] * 8}, linf)  # 12 undone: p = 5e-4
    assert any("successes do not hold up" in w for w in undone["warnings"])
    held = summarize({**base, "adv_pred": [1] + [0] * 19}, linf)
    assert not any("successes do not hold up" in w for w in held["warnings"])


def test_a_victim_that_gives_no_gradient_is_flagged(tmp_path: Path) -> None:
    naive, adaptive = run(tmp_path, [PGD], [{"name": "sor", "params": {"bpda": False}}, "sor"])
    probed = [v for v in naive.samples["zero_gradient"] if v is not None]  # the clean-correct
    assert probed and all(probed) and not any(adaptive.samples["zero_gradient"])
    assert any("gradient is exactly zero" in w for w in naive.metrics["warnings"])
    assert not any("gradient is exactly zero" in w for w in adaptive.metrics["warnings"])
    flat = {**samples([1] * 10, [1] * 10), "zero_gradient": [True] * 6 + [False] * 4}
    flat.pop("adv_pred_unaware")
    warnings = summarize(flat, ThreatModel("linf", 0.01))["warnings"]
    assert any("gradient is exactly zero at 6 of the 10" in w for w in warnings)
    flat["zero_gradient"] = [True] * 5 + [False] * 5  # half: not most
    assert not any(
        "exactly zero" in w for w in summarize(flat, ThreatModel("linf", 0.01))["warnings"]
    )


def test_a_transfer_from_a_stochastic_source_reports_its_crafting_attack_s_eot_draws() -> None:
    """The transfer wrapper has no eot_draws field of its own: the draws it reports are its
    crafting attack's against the source it crafted on, so no randomness warning fires."""
    from bench.contracts.plugins import ATTACKS
    from bench.evaluation.split import Attacked, Run, split_metrics
    from bench.testing.toys import ToyVictim

    transfer = ATTACKS.get("transfer").cls(ATTACKS.get("transfer").cls.Config(attack="pgd"))
    samples = {"id": ["a", "b"], "label": [0, 1], "clean_pred": [0, 1], "adv_pred": [1, 1]}
    attacked = Attacked(samples, gradient_queries=10, wall_s=1.0)
    source = ToyVictim(seed=0, input_noise=0.05)  # stochastic, as dual_denoise is
    metrics = split_metrics(attacked, ToyVictim(seed=0), [Run("", transfer, source, "attack")])
    assert metrics["eot_draws"] == 16  # PGD's automatic EOT against a stochastic victim
    assert not any("stochastic" in warning for warning in metrics["warnings"])
