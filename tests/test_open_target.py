"""Open-vocabulary targets: a targeted attack toward any text, judged among the evaluated names
plus that text, and listed apart from the leaderboard's tracks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.contracts.errors import ConfigError
from bench.contracts.hashing import sha256_of
from bench.contracts.plugins import ATTACKS, victim_names
from bench.evaluation.threat import check_threat_model
from bench.storage.store import Record
from bench.testing.toys import TOY_CLASSES, ToyVictim, toy_clouds
from leaderboard.open_targets import open_target_results
from leaderboard.site import publish
from leaderboard.tracks import tracks

OpenTarget = ATTACKS.get("open_target").cls
Config = OpenTarget.Config


def test_every_cloud_is_attacked_toward_the_text_and_some_reach_it() -> None:
    victim = ToyVictim(seed=0)
    points, labels = toy_clouds(8, 128, seed=1)
    keep = labels != TOY_CLASSES.index("disk")  # clouds of other classes
    points, labels = points[keep], labels[keep]
    attack = OpenTarget(Config(target_text="disk", eps=0.5, steps=30))
    output = attack.run(victim, points, labels, torch.Generator().manual_seed(0))
    check_threat_model(attack.threat_model(), points, output.points)
    disk = TOY_CLASSES.index("disk")
    assert output.stats["target"].tolist() == [disk] * len(labels)
    before, after = victim(points).argmax(-1), victim(output.points).argmax(-1)
    assert (before != disk).all() and (after == disk).any()
    reached = output.stats["success_step"] >= 0
    assert torch.equal(reached, after == disk)  # success means: classified as the text


def test_the_victim_must_classify_the_text_and_the_text_must_be_new() -> None:
    points, labels = toy_clouds(2, 64, seed=1)
    with pytest.raises(ConfigError, match="The victim does not classify 'gun'"):
        OpenTarget(Config(target_text="gun")).run(ToyVictim(), points, labels, None)
    assert victim_names(("chair", "sofa"), OpenTarget(Config(target_text="gun"))) == (
        "chair",
        "sofa",
        "gun",
    )
    assert victim_names(("chair",), ATTACKS.get("pgd").cls()) == ("chair",)
    with pytest.raises(ConfigError, match="extra class 'sofa' is already an evaluated class"):
        victim_names(("chair", "sofa"), OpenTarget(Config(target_text="sofa")))
    for bad in ("", "a\nb", "x" * 101):
        with pytest.raises(ConfigError, match="open_target.target_text"):
            Config(target_text=bad)


def open_target_cell(method: str, reached: int, attacked: int, n: int = 20) -> Record:
    """A finished open-target cell: `attacked` clean-correct clouds, `reached` moved to "gun"."""
    attack = {"name": "open_target", "version": 1, "config": {"target_text": "gun"}}
    cell = {"method": {"name": method}, "attack": attack, "defense": {"name": "none"}, "seed": 0}
    gun = 10  # the index after the 10 evaluated classes
    clean = [0] * attacked + [1] * (n - attacked)
    adv = [gun] * reached + [0] * (attacked - reached) + [1] * (n - attacked)
    return Record(
        cell_hash=sha256_of(cell),
        cell=cell,
        labels={
            "method": method,
            "teacher": "minilm",
            "corpus": "procedural40/train",
            "dataset": "procedural40[unseen]",
            "attack": "open_target",
            "defense": "none",
        },
        status="ok",
        metrics={
            "n": n,
            "clean_acc": attacked / n,
            "clean_acc_ci": [0.0, 1.0],
            "robust_acc": (attacked - reached) / n,
            "robust_acc_ci": [0.0, 1.0],
            "attack_success_rate": reached / attacked,
            "threat_model": "linf 0.05",
            "zero_shot": True,
            "warnings": [],
            "runs": ["attack"],
        },
        samples={
            "id": [f"s{i}" for i in range(n)],
            "label": [0] * n,
            "clean_pred": clean,
            "adv_pred": adv,
            "target": [gun] * attacked + [None] * (n - attacked),
        },
        provenance={"finished_at": "2026-12-01T00:00:00+00:00", "extra_classes": ["gun"]},
    )


def test_open_target_cells_are_listed_apart_with_their_success_rate(tmp_path: Path) -> None:
    records = [open_target_cell("ulip", 12, 16), open_target_cell("openshape", 3, 15)]
    results = open_target_results(records)
    assert [(r.record.labels["method"], r.reached, r.attacked) for r in results] == [
        ("openshape", 3, 15),
        ("ulip", 12, 16),
    ]
    assert results[1].rate == 0.75 and results[1].interval[0] < 0.75 < results[1].interval[1]
    assert tracks(records) == {}  # another classifier than the evaluated one: no track
    publish(records, tmp_path)
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<h2>Open-vocabulary targets</h2>" in page
    low, high = results[1].interval
    assert f'75.0 <span class="ci">[{100 * low:.1f}, {100 * high:.1f}]</span>' in page
    assert "<td>gun</td>" in page and "12/16" in page
