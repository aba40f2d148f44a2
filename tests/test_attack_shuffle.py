"""Point order as a threat: the shuffle attack, the reordered threat model and its indicator."""

from __future__ import annotations

import pytest
import torch

from bench.contracts.errors import ThreatModelViolation
from bench.contracts.indicators import BY_CODE
from bench.contracts.plugins import ATTACKS, ThreatModel
from bench.contracts.randomness import SampleStreams
from bench.evaluation.summary import order_changed_verdicts
from bench.evaluation.threat import check_threat_model

IDS = ["a", "b", "c"]


def _sorted_rows(cloud: torch.Tensor) -> torch.Tensor:
    """The cloud's points in lexicographic order: equal for two orders of one multiset."""
    for column in reversed(range(cloud.shape[1])):
        cloud = cloud[cloud[:, column].argsort(stable=True)]
    return cloud


def test_shuffle_returns_every_clean_point_once_in_an_order_the_seed_fixes() -> None:
    clouds = torch.randn(3, 64, 6)  # xyz + rgb: the colours travel with their points
    labels = torch.zeros(3, dtype=torch.long)
    attack = ATTACKS.get("shuffle").cls()
    shuffled = attack.run(None, clouds, labels, SampleStreams.for_samples(0, IDS, "attack")).points
    again = attack.run(None, clouds, labels, SampleStreams.for_samples(0, IDS, "attack")).points
    other = attack.run(None, clouds, labels, SampleStreams.for_samples(1, IDS, "attack")).points
    assert torch.equal(shuffled, again) and not torch.equal(shuffled, other)
    assert all(not torch.equal(s, c) for s, c in zip(shuffled, clouds, strict=True))
    for row, clean in zip(shuffled, clouds, strict=True):
        assert torch.equal(_sorted_rows(row), _sorted_rows(clean))
    check_threat_model(attack.threat_model(), clouds, shuffled)
    with pytest.raises(ThreatModelViolation, match="change non-coordinate channels"):
        check_threat_model(ThreatModel("none"), clouds, shuffled)  # order is not free by default


def test_a_reordered_cloud_may_not_move_or_repeat_a_point() -> None:
    clouds = torch.randn(2, 32, 3)
    threat = ATTACKS.get("shuffle").cls().threat_model()
    moved = clouds.flip(1).clone()
    moved[1, 5, 0] += 1e-3
    with pytest.raises(ThreatModelViolation, match="Adversarial samples 1 contain points"):
        check_threat_model(threat, clouds, moved)
    repeated = clouds.clone()
    repeated[0, 1] = repeated[0, 0]
    with pytest.raises(ThreatModelViolation, match="Adversarial samples 0 contain points"):
        check_threat_model(threat, clouds, repeated)


def test_the_reordered_threat_model_says_so_and_combines_with_nothing() -> None:
    threat = ThreatModel("none", reordered=True)
    assert threat.describe() == "points reordered"
    assert threat.describe() != ThreatModel("none").describe()  # a track of its own
    assert "any order" in threat.explain()
    with pytest.raises(ValueError, match="reorders points may change nothing else"):
        ThreatModel("linf", eps=0.01, reordered=True)


@pytest.mark.parametrize(("flipped", "fires"), [(10, True), (2, False)])
def test_the_order_indicator_fires_on_a_significant_loss_of_verdicts(
    flipped: int, fires: bool
) -> None:
    # 20 clouds right in their stored order, 5 wrong; `flipped` of the 20 wrong reordered.
    labels = [0] * 25
    clean = [0] * 20 + [1] * 5
    reordered = [1] * flipped + [0] * (20 - flipped) + [1] * 5
    samples = {"label": labels, "clean_pred": clean, "adv_pred": reordered}
    warnings = order_changed_verdicts(samples)
    assert bool(warnings) is fires
    if fires:
        assert BY_CODE["order_changes_verdicts"].said(warnings[0])
        assert warnings[0].startswith("point order alone misclassified 10 of the 20 clean-correct")
