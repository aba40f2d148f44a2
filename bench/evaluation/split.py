"""Attacking a split: clean votes, then every attack run on the clean-correct samples.

What a cell does once it has its victim, its attack runs and its data; `bench.evaluation.cell`
builds those from a planned cell, and the Python API (`bench.api`) from objects a user holds,
so both compute their numbers through this one loop.

Only the samples the victim classifies correctly clean are attacked, as AutoAttack does: the
others are not robust whatever an attack does, so attacking them would change no robust
accuracy and cost most of the time of a weak zero-shot classifier. Their clouds stay clean,
their verdicts stay the clean ones, and their attack statistics are null. The clean votes of
the whole split come first, then the clean-correct samples are attacked in full batches; every
random draw is keyed by the seed and the sample id, so neither pass depends on the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from bench.adversarial.eot import VOTES, attack_draws, has_eot, naive_variant
from bench.contracts.accuracy import PERTURBATION_COLUMNS
from bench.contracts.cloudset import CloudSet
from bench.contracts.indicators import warn
from bench.contracts.plugins import Attack, AttackOutput, ThreatModel
from bench.contracts.randomness import SampleStreams
from bench.contracts.runtime import Runtime, progress
from bench.evaluation.metrics import perturbation_metrics
from bench.evaluation.summary import by_member, order_changed_verdicts, summarize
from bench.evaluation.threat import check_input_unchanged, check_threat_model
from bench.evaluation.victim import ZeroShotVictim
from bench.storage.partial import PartialResults, SavedBatches

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """One attack run: its column suffix, the attack and the victim it crafts on."""

    suffix: str  # "" (the attack as configured), "_naive" or "_unaware"
    attack: Attack[Any]
    crafting: ZeroShotVictim
    purpose: str  # names the per-sample random streams of the run


@dataclass(frozen=True)
class Attacked:
    """Per-sample outcomes of a split, the gradient queries per sample and the wall time."""

    samples: dict[str, list[Any]]
    gradient_queries: int
    wall_s: float


def attack_runs(
    attack: Attack[Any],
    victim: ZeroShotVictim,
    bare: Callable[[], ZeroShotVictim] | None = None,
) -> list[Run]:
    """The runs of `bench.evaluation.cell`'s docstring, the attack as configured first.

    `bare` makes the undefended victim, for the defense-unaware run (None: no defense).
    """
    runs = [Run("", attack, victim, "attack")]
    naive = naive_variant(attack, victim)
    if naive is not None:
        runs.append(Run("_naive", naive, victim, "naive attack"))
    if bare is not None and attack.access in ("gradient", "scores"):
        runs.append(Run("_unaware", attack, bare(), "unaware attack"))
    return runs


def run_checked(
    attack: Attack[Any],
    victim: ZeroShotVictim,
    points: torch.Tensor,
    clean: torch.Tensor,
    labels: torch.Tensor,
    generator: SampleStreams,
    threat: ThreatModel,
) -> AttackOutput:
    """Run one attack on a batch and verify it against the private copy of the clean clouds."""
    output = attack.run(victim, points, labels, generator)
    check_input_unchanged(points, clean)
    check_threat_model(threat, clean, output.points)
    return output


def attack_split(
    victim: ZeroShotVictim,
    runs: Sequence[Run],
    data: CloudSet,
    seed: int,
    runtime: Runtime,
    partial: PartialResults | None = None,
    description: str = "",
) -> Attacked:
    """Clean votes of the split, then every run on its clean-correct samples, batch by batch.

    With `partial`, the batches it saved are taken as done and each new one is saved to it.
    """
    device = torch.device(runtime.device)
    attack = runs[0].attack
    threat = attack.threat_model()
    transfer = runs[0].crafting is not victim
    votes = VOTES if victim.stochastic else 1
    started = time.perf_counter()
    total = len(data)
    labels = torch.from_numpy(data.labels).to(device)
    streams = _SplitStreams(seed, data.ids)
    clean_pred = torch.empty_like(labels)
    for rows in _batches(torch.arange(total), runtime.batch_size):
        victim.bind(streams.select("victim", rows))
        clean_pred[rows] = victim.vote(_clouds(data, rows, device), votes)
    samples: dict[str, list[Any]] = {"label": labels.tolist(), "clean_pred": clean_pred.tolist()}
    for run in runs:  # a sample wrong clean is never attacked: its verdict stays the clean one
        samples[f"adv_pred{run.suffix}"] = list(samples["clean_pred"])
    saved = partial.load() if partial is not None else SavedBatches()
    for name, values in saved.columns.items():
        column = samples.setdefault(name, [_unattacked(name)] * total)
        for row, value in values.items():
            column[row] = value
    queries = saved.gradient_queries
    correct = (clean_pred == labels).nonzero().flatten().cpu()
    if saved.rows:  # said by default: the user sees the earlier run's work was kept
        log.warning(
            "resumed %s: %d of %d samples to attack saved by an interrupted run",
            description,
            len(saved.rows),
            len(correct),
        )
    attacked = torch.tensor([r for r in correct.tolist() if r not in saved.rows], dtype=torch.long)
    report = progress(f"{description}, clean-correct clouds")
    for done, rows in enumerate(_batches(attacked, runtime.batch_size)):
        points = _clouds(data, rows, device)
        clean = points.clone()  # private: what attacks are measured and checked against
        batch: dict[str, torch.Tensor] = {}
        if attack.access == "gradient" and not transfer:
            victim.bind(streams.select("gradient probe", rows))
            batch["zero_gradient"] = _zero_gradient(victim, clean, labels[rows])
        victim.bind(streams.select("victim", rows))
        for run in runs:
            if run.crafting is not victim:
                run.crafting.bind(streams.select(run.purpose + " victim", rows))
            generator = streams.select(run.purpose, rows)
            output = run_checked(
                run.attack, run.crafting, points, clean, labels[rows], generator, threat
            )
            # Clouds the threat model let nobody change (checked) keep their clean verdict,
            # rather than a second vote that a stochastic victim may cast differently.
            unchanged = threat == ThreatModel("none")
            verdict = clean_pred[rows] if unchanged else victim.vote(output.points, votes)
            batch[f"adv_pred{run.suffix}"] = verdict
            if run.suffix == "":
                batch.update(perturbation_metrics(clean, output.points))
                batch.update(output.stats)
                queries = output.gradient_queries
            elif run.suffix == "_naive" and "success_step" in output.stats:
                batch["success_step_naive"] = output.stats["success_step"]
        for name, tensor in batch.items():
            column = samples.setdefault(name, [_unattacked(name)] * total)
            done_values = saved.columns.setdefault(name, {})
            for row, value in zip(rows.tolist(), tensor.detach().cpu().tolist(), strict=True):
                column[row] = done_values[row] = value
        if partial is not None:
            saved.gradient_queries = queries
            partial.save(replace(saved, wall_s=saved.wall_s + time.perf_counter() - started))
        report(min((done + 1) * runtime.batch_size, len(attacked)), len(attacked))
    samples["id"] = list(data.ids)
    return Attacked(samples, queries, saved.wall_s + time.perf_counter() - started)


def split_metrics(
    attacked: Attacked, victim: ZeroShotVictim, runs: Sequence[Run]
) -> dict[str, Any]:
    """The numbers and indicators of an attacked split (`bench.evaluation.summary`), with what
    the evaluation was: its victim's randomness, logit scale, threat model and runs."""
    samples = attacked.samples
    attack = runs[0].attack
    threat = attack.threat_model()
    member_steps = getattr(attack, "member_steps", None)
    metrics = summarize(samples, threat, _attack_steps(attack), member_steps)
    if threat.reordered and not victim.stochastic:
        metrics["warnings"] += order_changed_verdicts(samples)
    if "fooled_by" in samples and hasattr(attack, "members"):
        sequence = by_member(samples, [(name, m.access) for name, m in attack.members])
        metrics["robust_acc_after"] = sequence["robust_acc_after"]
        metrics["warnings"] += sequence["warnings"]
        if member_steps is not None:
            metrics["member_steps"] = member_steps
    # A transfer attack averages what its crafting attack does, on the source it crafts on.
    crafting = getattr(attack, "crafting_attack", None)
    stepper = crafting() if callable(crafting) else attack
    metrics.update(
        gradient_queries=attacked.gradient_queries,
        wall_s=round(attacked.wall_s, 3),
        stochastic=victim.stochastic,
        eot_draws=attack_draws(stepper, runs[0].crafting),
        votes=VOTES if victim.stochastic else 1,
        logit_scale=victim.logit_scale,
        threat_model=threat.describe(),
        access=attack.access,
        runs=[run.suffix.lstrip("_") or "adaptive" for run in runs],
    )
    if runs[0].crafting.stochastic and attacked.gradient_queries > 0 and metrics["eot_draws"] == 1:
        reason = "has no eot_draws setting" if not has_eot(stepper) else "runs with eot_draws=1"
        metrics["warnings"].append(warn("randomness_not_averaged", reason=reason))
    return metrics


def threat_facts(threat: ThreatModel) -> dict[str, Any]:
    """The threat model as a record's provenance holds it."""
    return {
        "norm": threat.norm,
        "eps": threat.eps,
        "points_added": threat.points_added,
        "points_dropped": threat.points_dropped,
        "penalised": list(threat.penalised),
        **({"reordered": True} if threat.reordered else {}),  # absent before it existed
    }


class _SplitStreams:
    """Per-sample random streams of the whole split, one set per purpose, narrowed per batch.

    A sample's stream keeps its position from one batch to the next, so the clean votes and
    the attack batches that follow them never reuse a block.
    """

    def __init__(self, seed: int, ids: Sequence[str]) -> None:
        self._seed, self._ids = seed, ids
        self._streams: dict[str, SampleStreams] = {}

    def select(self, purpose: str, rows: torch.Tensor) -> SampleStreams:
        if purpose not in self._streams:
            self._streams[purpose] = SampleStreams.for_samples(self._seed, self._ids, purpose)
        return self._streams[purpose].select(rows.tolist())


def _batches(rows: torch.Tensor, size: int) -> Iterator[torch.Tensor]:
    """Consecutive chunks of at most `size` of these sample indices."""
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _clouds(data: CloudSet, rows: torch.Tensor, device: torch.device) -> torch.Tensor:
    """The split's clouds at these sample indices, on the device."""
    return torch.from_numpy(data.points[rows.numpy()]).to(device)


def _unattacked(column: str) -> float | None:
    """A per-sample column's value for a sample that was never attacked (wrong clean): its
    cloud is the clean one, so perturbation sizes are 0; attack statistics do not exist."""
    return 0.0 if column in PERTURBATION_COLUMNS else None


def _zero_gradient(
    victim: ZeroShotVictim, clean: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Whether the loss gradient at each clean cloud is exactly zero [B]: what a gradient attack
    sees through a non-differentiable defense without BPDA (one draw, its own streams)."""
    from bench.adversarial.losses import cross_entropy_direction

    with torch.enable_grad():
        points = clean.clone().requires_grad_(True)
        logits = victim.sample(points, 1)
        direction = cross_entropy_direction(logits.detach(), labels, targeted=False)
        (gradient,) = torch.autograd.grad(logits, points, grad_outputs=direction)
    return (gradient == 0).flatten(1).all(dim=1)


def _attack_steps(attack: Attack[Any]) -> int | None:
    """The attack's step count, when it has one (for the robust-accuracy-versus-steps curve):
    a sequence's is its members' together, one stretch of the axis each."""
    member_steps = getattr(attack, "member_steps", None)
    if member_steps is not None:
        return sum(member_steps.values())
    steps = getattr(attack.config, "steps", None)
    return steps if isinstance(steps, int) else None
