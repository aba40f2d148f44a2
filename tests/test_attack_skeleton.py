"""The attack skeleton: the opening, each sample's best iterate, and stop-at-success verdicts."""

from __future__ import annotations

import pytest
import torch

from attacks.pgd import PGD, PGDConfig
from bench.adversarial.losses import cross_entropy, fooled
from bench.adversarial.skeleton import Best, Iterate, kept, open_attack, verdict
from bench.testing.toys import ToyVictim, toy_clouds

pytestmark = pytest.mark.usefixtures("single_thread")


def iterate(
    success: list[bool], score: list[float], tag: float, penalty: list[float] | None = None
) -> Iterate:
    """An iterate of len(success) rows whose points and loss are all `tag`, to see what was kept."""
    count = len(success)
    return Iterate(
        points=torch.full((count, 2, 3), tag),
        loss=torch.full((count,), tag),
        score=torch.tensor(score),
        success=torch.tensor(success),
        penalty=None if penalty is None else torch.tensor(penalty),
    )


def test_best_keeps_the_first_success_else_the_highest_score() -> None:
    best = Best(iterate([False, False, True, False], [1.0, 2.0, 0.0, 5.0], tag=0.0), step=0)
    rows = best.standing()
    assert rows.tolist() == [0, 1, 3]
    # Row 0 succeeds, row 1 scores higher, row 3 lower: only 0 and 1 take the new iterate.
    take = best.update(iterate([True, False, False], [0.0, 3.0, 4.0], tag=1.0), 1, rows)
    assert take.tolist() == [True, True, False]
    assert best.loss.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert best.points[:, 0, 0].tolist() == best.loss.tolist()
    assert best.success.tolist() == [True, False, True, False]
    assert best.success_step.tolist() == [1, -1, 0, -1]
    assert best.standing().tolist() == [1, 3]
    # A later success never replaces an earlier one, and a tie keeps the earlier iterate.
    best.update(iterate([True, False, False, True], [9.0, 3.0, 5.0, 9.0], tag=2.0), 2)
    assert best.loss.tolist() == [1.0, 1.0, 0.0, 2.0]
    assert best.success_step.tolist() == [1, -1, 0, 2]
    assert best.standing().tolist() == [1]


def test_best_with_a_penalty_keeps_the_least_penalised_success() -> None:
    first = iterate([True, True, False], [0.0, 0.0, 1.0], tag=0.0, penalty=[2.0, 1.0, 0.0])
    best = kept(None, first, 0)
    new = iterate([True, True, True], [0.0, 0.0, 0.0], tag=1.0, penalty=[1.0, 3.0, 9.0])
    assert kept(best, new, 4) is best
    assert best.loss.tolist() == [1.0, 0.0, 1.0]  # smaller penalty; larger; any success
    assert best.penalty is not None and best.penalty.tolist() == [1.0, 1.0, 9.0]
    assert best.success_step.tolist() == [0, 0, 4]  # the first success's step stays


def test_best_is_a_private_copy_of_the_first_iterate() -> None:
    first = iterate([False], [0.0], tag=0.0)
    best = Best(first, 0)
    best.update(iterate([True], [0.0], tag=1.0), 1)
    assert first.points.eq(0).all() and not first.success.any()


class Vetoing(ToyVictim):
    """A stochastic toy victim whose fresh vote rejects every claimed success, counting claims."""

    def __init__(self) -> None:
        super().__init__(seed=0, input_noise=0.05)
        self.claims = 0

    def confirm(
        self, points: torch.Tensor, classes: torch.Tensor, targeted: bool, success: torch.Tensor
    ) -> torch.Tensor:
        self.claims += int(success.sum())
        return torch.zeros_like(success)


def test_only_a_confirmed_success_leaves_the_run() -> None:
    points, labels = toy_clouds(6, 64, seed=1)
    victim = Vetoing()
    wrong = (labels + 1) % 5  # every clean cloud is "fooled" with respect to these labels
    logits = victim.sample(points, 3)
    assert fooled(logits, wrong, False).all()
    assert not verdict(victim, points, logits, wrong, False).any()
    assert victim.claims == len(points)
    assert open_attack(victim, points, wrong, None, 3).standing().numel() == 0
    start = open_attack(victim, points, wrong, None, 3, confirm=True)
    assert start.draws == 3 and start.standing().tolist() == list(range(6))
    # A run that stops at success keeps every vetoed sample to its last step.
    claims = victim.claims
    out = PGD(PGDConfig(steps=3, eot_draws=3)).run(victim, points, wrong, torch.Generator())
    assert (out.stats["success_step"] == -1).all()
    assert victim.claims == claims + len(points) * (1 + 4)  # the clean clouds, iterates 0..3


def test_the_opening_judges_the_clean_clouds_once() -> None:
    points, labels = toy_clouds(8, 64, seed=2)
    victim = ToyVictim(seed=0)
    start = open_attack(victim, points, labels, torch.Generator().manual_seed(0), 0, targeted=True)
    assert start.draws == 1 and start.clean.data_ptr() == points.data_ptr()
    assert start.target is not None and (start.target != labels).all()
    assert torch.equal(start.classes, start.target)
    with torch.no_grad():
        logits = victim(points).unsqueeze(0)
    assert torch.equal(start.logits, logits)
    assert torch.equal(start.loss, cross_entropy(logits, start.target))
    assert list(start.stats()) == ["target", "loss_start"]
    output = start.unchanged(start.stats())
    assert torch.equal(output.points, points) and output.points.data_ptr() != points.data_ptr()
    assert torch.equal(output.stats["success_step"], torch.where(start.success, 0, -1))
    assert output.gradient_queries == 0
    # Logits an attack's own first pass gave are used as they are: no second query.
    given = open_attack(victim, points, labels, None, 0, logits=logits + 1)
    assert torch.equal(given.logits, logits + 1) and given.target is None
    assert list(given.stats()) == ["loss_start"]
