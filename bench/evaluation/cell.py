"""One cell's evaluation: build the victim, attack the split in batches, check, measure.

Every adversarial batch is checked against the attack's declared threat model, and against a
private copy of the clean batch, before any number is kept; a violation fails the cell.

A cell runs its attack once or several times, and every run's clouds are judged by the
victim as evaluated (defense included):

- the attack as configured, against the victim as evaluated ("adaptive": EOT against a
  stochastic victim or randomized defense, BPDA through a non-differentiable defense);
- against a stochastic victim, the same attack naively (one draw per step);
- behind a defense, the attack crafted on the bare, undefended victim ("defense-unaware", the
  classic gray-box setting), so that a defense is never credited for a weak adaptive attack.

`robust_acc` counts a sample as robust only if it survives every run
(`bench.evaluation.summary`); each run's own accuracy is kept beside it. A transfer attack
crafts on its source method's victim instead, and runs once.

Only the samples the victim classifies correctly clean are attacked, as AutoAttack does: the
others are not robust whatever an attack does, so attacking them would change no robust
accuracy and cost most of the time of a weak zero-shot classifier. Their clouds stay clean,
their verdicts stay the clean ones, and their attack statistics are null. The clean votes of
the whole split come first, then the clean-correct samples are attacked in full batches; every
random draw is keyed by the cell seed and the sample id, so neither pass depends on the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch

from bench.adversarial.eot import VOTES, attack_draws, has_eot, naive_variant
from bench.contracts.accuracy import PERTURBATION_COLUMNS
from bench.contracts.clouds import validate_clouds
from bench.contracts.config import config_to_dict
from bench.contracts.errors import DataError, WeightsError
from bench.contracts.indicators import warn
from bench.contracts.plugins import Attack, AttackOutput, ThreatModel
from bench.contracts.randomness import SampleStreams
from bench.contracts.runtime import Runtime, progress
from bench.evaluation.metrics import perturbation_metrics
from bench.evaluation.summary import by_member, generalised, summarize
from bench.evaluation.threat import check_input_unchanged, check_threat_model
from bench.evaluation.victim import ZeroShotVictim
from bench.plan.cells import Cell
from bench.plan.training import Training
from bench.storage.partial import PartialResults, SavedBatches
from bench.training.teacher import teacher_embeddings
from bench.training.trained import TrainedEncoder
from bench.training.weights import obtain_encoder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Run:
    """One attack run of a cell: its column suffix, the attack and the victim it crafts on."""

    suffix: str  # "" (the attack as configured), "_naive" or "_unaware"
    attack: Attack[Any]
    crafting: ZeroShotVictim
    purpose: str  # names the per-sample random streams of the run


def evaluate_cell(
    cell: Cell, runtime: Runtime, partial: PartialResults | None = None
) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, Any]]:
    """Metrics, per-sample outcomes and provenance facts of one cell.

    With `partial`, the batches it saved are taken as done and each new one is saved to it.
    """
    device = torch.device(runtime.device)
    torch.manual_seed(cell.seed)
    data = cell.evaluation_data()
    if data.fingerprint != cell.data_fingerprint:
        raise DataError(
            f"The data of {cell.dataset.label()} changed after the cell was planned (fingerprint"
            f" {data.fingerprint[:16]}, planned {cell.data_fingerprint[:16]}); run it again."
        )
    validate_clouds(data.points, f"The {cell.split} split of dataset '{cell.dataset.name}'")
    defense = cell.defense.instantiate()
    victim, trained, teacher = _victim(cell.training, data.class_names, device, defense)
    attack = cell.attack.instantiate()
    threat = attack.threat_model()
    source = cell.transfer
    runs = _runs(cell, attack, victim, data.class_names, device, source)
    votes = VOTES if victim.stochastic else 1

    started = time.perf_counter()
    total = len(data)
    labels = torch.from_numpy(data.labels).to(device)
    streams = _SplitStreams(cell.seed, data.ids)
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
            cell.label(),
            len(saved.rows),
            len(correct),
        )
    attacked = torch.tensor([r for r in correct.tolist() if r not in saved.rows], dtype=torch.long)
    behind = "" if cell.defense.name == "none" else f" behind {cell.defense.label()}"
    report = progress(f"{cell.attack.label()} on {cell.method.name}{behind}, clean-correct clouds")
    for done, rows in enumerate(_batches(attacked, runtime.batch_size)):
        points = _clouds(data, rows, device)
        clean = points.clone()  # private: what attacks are measured and checked against
        batch: dict[str, torch.Tensor] = {}
        if attack.access == "gradient" and source is None:
            victim.bind(streams.select("gradient probe", rows))
            batch["zero_gradient"] = _zero_gradient(victim, clean, labels[rows])
        victim.bind(streams.select("victim", rows))
        for run in runs:
            if run.crafting is not victim:
                run.crafting.bind(streams.select(run.purpose + " victim", rows))
            generator = streams.select(run.purpose, rows)
            output = _attack(
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
    wall = saved.wall_s + time.perf_counter() - started

    samples["id"] = list(data.ids)
    member_steps = getattr(attack, "member_steps", None)
    metrics = summarize(samples, threat, _attack_steps(attack), member_steps)
    if "fooled_by" in samples and hasattr(attack, "members"):
        sequence = by_member(samples, [(name, m.access) for name, m in attack.members])
        metrics["robust_acc_after"] = sequence["robust_acc_after"]
        metrics["warnings"] += sequence["warnings"]
        if member_steps is not None:
            metrics["member_steps"] = member_steps
    seen = cell.corpus.seen(data.class_names)
    overlap = {"seen_classes": seen} if seen is not None else {"open_vocabulary": True}
    metrics["zero_shot"] = seen == []
    if seen is None:
        metrics["open_vocabulary"] = True
    metrics.update(generalised(samples, data.class_names, set(seen or ())))
    reported = _reported(cell)
    if reported is not None:
        metrics["reported_acc"] = reported["top1"] / 100
    metrics.update(
        gradient_queries=queries,
        wall_s=round(wall, 3),
        stochastic=victim.stochastic,
        eot_draws=attack_draws(attack, runs[0].crafting),
        votes=votes,
        logit_scale=victim.logit_scale,
        threat_model=threat.describe(),
        access=attack.access,
        runs=[run.suffix.lstrip("_") or "adaptive" for run in runs],
    )
    if runs[0].crafting.stochastic and queries > 0 and metrics["eot_draws"] == 1:
        reason = "has no eot_draws setting" if not has_eot(attack) else "runs with eot_draws=1"
        metrics["warnings"].append(warn("randomness_not_averaged", reason=reason))
    facts = {
        "weights": {
            "kind": cell.weights,
            "sha256": trained.sha256,
            "file": trained.path.name,
            "trained_now": trained.trained_now,
        },
        "teacher": teacher,
        "training": {"corpus": cell.corpus.label(), "seed": cell.seed, **overlap},
        **({"reported": reported} if reported is not None else {}),
        "dataset_fingerprint": data.fingerprint,
        "threat_model": {
            "norm": threat.norm,
            "eps": threat.eps,
            "points_added": threat.points_added,
            "points_dropped": threat.points_dropped,
            "penalised": list(threat.penalised),
        },
    }
    return metrics, samples, facts


def _victim(
    training: Training, class_names: tuple[str, ...], device: torch.device, defense: Any = None
) -> tuple[ZeroShotVictim, TrainedEncoder, str]:
    """The trained method as a zero-shot classifier over `class_names`, behind `defense`; with
    the weights it runs and the identity of the teacher its class embeddings come from."""
    method = training.method.instantiate()
    trained = obtain_encoder(training, device)
    embeddings, teacher = teacher_embeddings(
        training.teacher.instantiate(), method.config.templates, class_names
    )
    release = training.release
    if release is not None and embeddings.shape[1] != release.embed_dim:
        raise WeightsError(
            f"The teacher {training.teacher.label()} gives {embeddings.shape[1]}-wide class"
            f" embeddings, but {release.name} embeds clouds in {release.embed_dim} dimensions:"
            f" it was evaluated with {release.teacher[0]} {dict(release.teacher[1])}."
        )
    victim = ZeroShotVictim(
        trained.module,
        method.preprocess,
        embeddings.to(device),
        class_names,
        logit_scale=method.config.logit_scale,
        stochastic=method.stochastic,
        defense=defense,
        noise_seed=training.seed,
    ).to(device)
    return victim, trained, teacher


def _runs(
    cell: Cell,
    attack: Attack[Any],
    victim: ZeroShotVictim,
    names: tuple[str, ...],
    device: torch.device,
    source: Training | None,
) -> list[_Run]:
    """The attack runs of the module docstring, the attack as configured first."""
    if source is not None:
        crafting, _, _ = _victim(source, names, device)
        return [_Run("", attack, crafting, "attack")]
    runs = [_Run("", attack, victim, "attack")]
    naive = naive_variant(attack, victim)
    if naive is not None:
        runs.append(_Run("_naive", naive, victim, "naive attack"))
    if cell.defense.name != "none" and attack.access in ("gradient", "scores"):
        bare, _, _ = _victim(cell.training, names, device)
        runs.append(_Run("_unaware", attack, bare, "unaware attack"))
    return runs


def _attack(
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


def _clouds(data: Any, rows: torch.Tensor, device: torch.device) -> torch.Tensor:
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


def _reported(cell: Cell) -> dict[str, Any] | None:
    """The release authors' accuracy for this evaluation: same dataset and settings, every class
    of its test split (a class subset is another task)."""
    release = cell.release
    if release is None or cell.split != "test" or cell.classes != "all":
        return None
    entry = release.reported(cell.dataset.name, config_to_dict(cell.dataset.config))
    if entry is None:
        return None
    return {"top1": entry.top1, "source": entry.source, "note": entry.note}
