"""The bookkeeping every attack run shares: its opening, each sample's best iterate, its verdicts.

An attack file then holds its algorithm and its config only. A run opens the same way whatever
the algorithm (`open_attack`: draws, clean logits, targets, the starting loss and verdict),
returns each sample's best iterate rather than its last (`Best`), and lets a sample leave once
it is fooled (`Best.standing`), with a claimed success confirmed on fresh draws first (`verdict`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import torch

from bench.adversarial.eot import resolve_draws
from bench.adversarial.losses import cross_entropy, fooled, random_targets
from bench.contracts.plugins import AttackOutput

if TYPE_CHECKING:
    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim


def verdict(
    victim: Victim,
    points: torch.Tensor,
    logits: torch.Tensor,
    classes: torch.Tensor,
    targeted: bool,
) -> torch.Tensor:
    """Per-sample success [B] of an iterate that stops its sample: a quorum of the draws of its
    logits (`fooled`), confirmed by a fresh majority vote of a stochastic victim.

    Over many steps some step's draws are fooled by chance (`Victim.confirm`); a sample stopped
    there would come back unbroken.
    """
    return victim.confirm(points, classes, targeted, fooled(logits, classes, targeted))


def first_success(steps: torch.Tensor, success: torch.Tensor, step: int) -> torch.Tensor:
    """`steps` [B] (-1: no success yet) with `step` recorded where `success` is the first one."""
    return torch.where((steps < 0) & success, step, steps)


@dataclass(frozen=True)
class Opening:
    """What a run knows before its first step: the clean clouds, judged once."""

    clean: torch.Tensor  # the input, detached; never written to
    draws: int  # noise draws per query (EOT); 1 against a deterministic victim
    logits: torch.Tensor  # [E, B, K] of the clean clouds
    classes: torch.Tensor  # what losses are toward: the labels, or `target`
    target: torch.Tensor | None  # a random other class per sample, for a targeted run
    loss: torch.Tensor  # cross-entropy toward `classes` at the clean clouds [B]
    success: torch.Tensor  # the clean clouds' verdict [B]

    def stats(self) -> dict[str, torch.Tensor]:
        """The per-sample stats every run reports from its opening."""
        stats = {} if self.target is None else {"target": self.target}
        stats["loss_start"] = self.loss
        return stats

    def standing(self) -> torch.Tensor:
        """The rows not fooled as they are: the only ones a search can improve."""
        return (~self.success).nonzero().flatten()

    def unchanged(self, stats: dict[str, torch.Tensor]) -> AttackOutput:
        """The clean clouds returned as they are (a zero budget), `stats` completed to match."""
        stats.update(loss_final=self.loss.clone(), success_step=torch.where(self.success, 0, -1))
        return AttackOutput(points=self.clean.clone(), gradient_queries=0, stats=stats)


def open_attack(
    victim: Victim,
    points: torch.Tensor,
    labels: torch.Tensor,
    generator: RandomSource,
    eot_draws: int,
    targeted: bool = False,
    *,
    confirm: bool = False,
    logits: torch.Tensor | None = None,
    targets: torch.Tensor | None = None,
) -> Opening:
    """Judge the clean clouds once: draws, logits, targets (when `targeted`, `targets` [B] if
    given, else drawn from `generator`), loss and verdict (with `confirm`, a `verdict`; else
    the quorum alone).

    `logits` are the clean clouds' logits when the attack's own first pass gave them, because
    it also needed their gradient; otherwise they are queried here, without a gradient.
    """
    draws = resolve_draws(eot_draws, victim)
    clean = points.detach()
    if logits is None:
        with torch.no_grad():
            logits = victim.sample(clean, draws)
    target = None
    if targeted:
        target = random_targets(labels, logits.shape[-1], generator) if targets is None else targets
    classes = labels if target is None else target
    loss = cross_entropy(logits, classes)
    if confirm:
        success = verdict(victim, clean, logits, classes, targeted)
    else:
        success = fooled(logits, classes, targeted)
    return Opening(clean, draws, logits, classes, target, loss, success)


class Iterate(NamedTuple):
    """One iterate of the rows under attack, as judged (all [R, ...])."""

    points: torch.Tensor  # what the attack returns or optimises
    loss: torch.Tensor  # what it reports of the iterate
    score: torch.Tensor  # ranks iterates that are not successes: higher is better
    success: torch.Tensor
    penalty: torch.Tensor | None = None  # ranks successes, lower is better; None: the first stays


class Best:
    """Each sample's best iterate so far: its first success (or, with a penalty, its
    least-penalised success), else its highest-scoring iterate; ties keep the earlier one.

    An attack returns this rather than its last iterate, which can be worse than an earlier one
    (sign steps overshoot, Adam oscillates). Updated in place, rows at a time: copying the whole
    batch at every step would cost more than the step's bookkeeping. `success_step` is the step
    of each sample's first success (-1: none).
    """

    def __init__(self, first: Iterate, step: int) -> None:
        """Start from a run's first iterate of the whole batch, copied: updates stay private."""
        self.points = first.points.clone()
        self.loss = first.loss.clone()
        self.score = first.score.clone()
        self.success = first.success.clone()
        self.penalty = None if first.penalty is None else first.penalty.clone()
        self.success_step = torch.where(first.success, step, -1)

    def update(self, new: Iterate, step: int, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Keep `new`, the iterate `step` of `rows` (default: all), where it is better.

        Returns which of those rows took it, for an attack that keeps more with its iterate.
        """
        index = slice(None) if rows is None else rows
        success = self.success[index]
        take = (new.success & ~success) | (
            ~new.success & ~success & (new.score > self.score[index])
        )
        if self.penalty is not None and new.penalty is not None:
            take |= new.success & success & (new.penalty < self.penalty[index])
        chosen = take if rows is None else rows[take]
        self.points[chosen] = new.points[take]
        self.loss[chosen] = new.loss[take]
        self.score[chosen] = new.score[take]
        if self.penalty is not None and new.penalty is not None:
            self.penalty[chosen] = new.penalty[take]
        self.success_step[index] = first_success(self.success_step[index], new.success, step)
        self.success[index] = success | new.success
        return take

    def standing(self) -> torch.Tensor:
        """The rows not fooled yet: a run that stops at success spends its steps on these."""
        return (~self.success).nonzero().flatten()


def kept(best: Best | None, new: Iterate, step: int, rows: torch.Tensor | None = None) -> Best:
    """`best` with `new` kept where better (`Best.update`); a run's first iterate starts it."""
    if best is None:
        return Best(new, step)
    best.update(new, step, rows)
    return best


# The next perturbation of the rows still standing, from their current one and its logits
# (with the graph to it, for the attack's own gradient): (part, logits, rows) -> part.
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def descend(
    victim: Victim,
    start: Opening,
    delta: torch.Tensor,
    steps: int,
    targeted: bool,
    step: Step,
    best: Best | None = None,
) -> Best:
    """The iterate loop of a gradient attack on a perturbation `delta` [B, N, 3] (PGD, SI-Adv):
    `steps` steps of `step`, each sample's best iterate kept (`kept`, scored on cross-entropy).

    Iterate k (k = 0 is `delta` itself) is judged on the logits of the forward pass that also
    gives its gradient, so keeping the best costs one extra forward only, for the last iterate.
    A sample stops at its first success: its best iterate can no longer change, so the rest of
    the run is spent on the samples still standing. `delta` is updated in place.
    """
    from bench.adversarial.balls import compose

    clean, classes = start.clean, start.classes
    active = torch.arange(len(clean), device=clean.device) if best is None else best.standing()
    for k in range(steps + 1):
        if not len(active):
            break
        last = k == steps
        part = delta[active]
        with torch.set_grad_enabled(not last), victim.rows(active):
            part.requires_grad_(not last)
            adversarial = compose(clean[active], part)
            logits = victim.sample(adversarial, start.draws)
            success = verdict(
                victim, adversarial.detach(), logits.detach(), classes[active], targeted
            )
        loss = cross_entropy(logits.detach(), classes[active])
        current = Iterate(adversarial.detach(), loss, -loss if targeted else loss, success)
        best = kept(best, current, k, active)
        if last:
            break
        delta[active] = step(part, logits, active)
        active = best.standing()
    assert best is not None
    return best
