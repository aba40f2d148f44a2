"""A track ranks only like with like: entries evaluated under its reference attack
configuration; the others are listed apart, unranked, with their numbers and what they lack."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from bench.contracts.hashing import sha256_of
from bench.storage.store import Record
from bench.testing.records import stored_record
from leaderboard import exports, latex
from leaderboard.attack_config import describe
from leaderboard.site import publish
from leaderboard.tracks import tracks

STANDARD = {"name": "standard", "version": 3, "config": {"norm": "linf", "eps": 0.01}}


def pgd(steps: int) -> dict[str, Any]:
    config = {"norm": "linf", "eps": 0.01, "steps": steps, "step_size": 0.001, "restarts": 1}
    return {"name": "pgd", "version": 5, "config": config}


def cell(method: str, attack: dict[str, Any], robust: int) -> Record:
    """40 samples, `robust` of them left correct by the attack."""
    record = stored_record([0] * robust + [1] * (40 - robust), method=method, attack=attack["name"])
    identity = {**record.cell, "attack": attack}
    return dataclasses.replace(record, cell=identity, cell_hash=sha256_of(identity))


def test_the_attack_label_says_how_hard_it_tried() -> None:
    assert describe(pgd(200)) == "pgd v5 (200 steps, step eps/10, 1 restart)"
    assert describe(pgd(10), threat=True) == "pgd v5 (linf 0.01, 10 steps, step eps/10, 1 restart)"
    assert describe(STANDARD) == "standard v3"


def test_only_entries_under_the_standard_configuration_are_ranked(tmp_path: Path) -> None:
    records = [
        cell("a", STANDARD, 20),
        cell("a", pgd(200), 22),
        cell("b", STANDARD, 12),
        cell("light", pgd(10), 36),  # above both only because it was attacked less hard
        cell("heavy", pgd(200), 30),
    ]
    ((track, entries),) = tracks(records).items()
    assert track.reference is not None and track.reference.standard
    assert [(e.victim["method"], exports.rank_text(e)) for e in entries] == [
        ("a", "1"),
        ("b", "2"),
        ("light", "not ranked"),
        ("heavy", "not ranked"),
    ]
    assert entries[2].robust_acc == 0.9  # its number is still shown
    heading = "Not ranked: not evaluated under standard v3"
    assert track.reference.heading == heading

    markdown = exports.to_markdown(track, entries)
    ranked, apart = markdown.split(f"**{heading}**")
    assert "| 1 | a |" in ranked and "light" not in ranked
    assert "| not ranked | light |" in apart and "| not ranked | heavy |" in apart
    assert "pgd v5 (10 steps, step eps/10, 1 restart)" in apart  # its strongest attack
    assert r"\emph{Not ranked}" in latex.to_latex(track, entries)
    page = publish(records, tmp_path)[1].read_text()
    assert f"<h2>{heading}</h2>" in page


def test_without_the_standard_attack_the_configuration_most_entries_share_is_the_reference() -> (
    None
):
    records = [cell("a", pgd(200), 20), cell("b", pgd(200), 10), cell("c", pgd(10), 38)]
    ((track, entries),) = tracks(records).items()
    assert track.reference is not None and not track.reference.standard
    assert track.reference.label == "pgd v5 (200 steps, step eps/10, 1 restart)"
    assert "No entry was evaluated under the standard attack" in track.reference.note
    assert [exports.rank_text(e) for e in entries] == ["1", "2", "not ranked"]
