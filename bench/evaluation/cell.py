"""One cell's evaluation: build the victim, attack the split in batches, check, measure.

Every adversarial batch is checked against the attack's declared threat model, and against a
private copy of the clean batch, before any number is kept; a violation fails the cell.

Against a stochastic victim, predictions are majorities over fresh noise draws, and a gradient
attack runs twice: naively (one draw per step) and adaptively (EOT, the attack's `eot_draws`).
Each run's accuracy is kept; `robust_acc` counts a sample as robust only if it survives both
(`bench.evaluation.summary`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from bench.contracts.clouds import validate_clouds
from bench.contracts.plugins import Attack, AttackOutput, ThreatModel
from bench.contracts.randomness import SampleStreams
from bench.contracts.runtime import Runtime, progress
from bench.evaluation.eot import VOTES, attack_draws, has_eot, naive_variant
from bench.evaluation.metrics import perturbation_metrics
from bench.evaluation.summary import generalised, summarize
from bench.evaluation.threat import check_input_unchanged, check_threat_model
from bench.evaluation.victim import Victim
from bench.running.cells import Cell
from bench.training.teacher import teacher_embeddings
from bench.training.weights import obtain_encoder


def evaluate_cell(
    cell: Cell, runtime: Runtime
) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, Any]]:
    """Metrics, per-sample outcomes and provenance facts of one cell."""
    device = torch.device(runtime.device)
    torch.manual_seed(cell.seed)
    method = cell.method.instantiate()
    data = cell.evaluation_data()
    validate_clouds(data.points, f"The {cell.split} split of dataset '{cell.dataset.name}'")
    teacher_encoder = cell.teacher.instantiate()
    trained = obtain_encoder(cell, device)
    embeddings, teacher = teacher_embeddings(
        teacher_encoder, method.config.templates, data.class_names
    )
    defense = cell.defense.instantiate()
    victim = Victim(
        trained.module,
        method.preprocess,
        embeddings.to(device),
        data.class_names,
        logit_scale=method.config.logit_scale,
        stochastic=method.stochastic,
        defense=defense,
        noise_seed=cell.seed,
    ).to(device)
    attack = cell.attack.instantiate()
    naive = naive_variant(attack, victim)
    threat = attack.threat_model()
    votes = VOTES if victim.stochastic else 1

    started = time.perf_counter()
    columns: dict[str, list[torch.Tensor]] = {}
    queries = 0
    total = len(data)
    report = progress(f"{cell.attack.label()} on {cell.method.name}")
    for start in range(0, total, runtime.batch_size):
        points = torch.from_numpy(data.points[start : start + runtime.batch_size]).to(device)
        labels = torch.from_numpy(data.labels[start : start + runtime.batch_size]).to(device)
        clean = points.clone()  # private: what attacks are measured and checked against
        ids = data.ids[start : start + runtime.batch_size]
        # Every draw is keyed by the cell seed and the sample id, not by the batch.
        victim.bind(SampleStreams.for_samples(cell.seed, ids, "victim"))
        generator = SampleStreams.for_samples(cell.seed, ids, "attack")
        batch = {"label": labels, "clean_pred": victim.vote(clean, votes)}
        if naive is not None:
            naive_streams = SampleStreams.for_samples(cell.seed, ids, "naive attack")
            naive_output = _attack(naive, victim, points, clean, labels, naive_streams, threat)
            batch["adv_pred_naive"] = victim.vote(naive_output.points, votes)
            if "success_step" in naive_output.stats:
                batch["success_step_naive"] = naive_output.stats["success_step"]
        output = _attack(attack, victim, points, clean, labels, generator, threat)
        # Clouds the threat model let nobody change (checked) keep their clean verdict, rather
        # than a second vote that a stochastic victim may cast differently.
        unchanged = threat.norm == "none"
        batch["adv_pred"] = batch["clean_pred"] if unchanged else victim.vote(output.points, votes)
        batch.update(perturbation_metrics(clean, output.points))
        batch.update(output.stats)
        for name, values in batch.items():
            columns.setdefault(name, []).append(values.detach().cpu())
        queries = output.gradient_queries
        report(min(start + runtime.batch_size, total), total)
    wall = time.perf_counter() - started

    samples = {name: torch.cat(values).tolist() for name, values in columns.items()}
    samples["id"] = list(data.ids)
    metrics = summarize(samples, threat.eps, _attack_steps(attack))
    trained_classes = cell.corpus.load().class_names
    overlap = class_overlap(trained_classes, data.class_names)
    metrics["zero_shot"] = not overlap["seen_classes"]
    metrics.update(generalised(samples, data.class_names, set(trained_classes)))
    metrics.update(
        gradient_queries=queries,
        wall_s=round(wall, 3),
        stochastic=victim.stochastic,
        eot_draws=attack_draws(attack, victim),
        votes=votes,
        logit_scale=victim.logit_scale,
    )
    if victim.stochastic and queries > 0 and metrics["eot_draws"] == 1:
        reason = "has no eot_draws setting" if not has_eot(attack) else "runs with eot_draws=1"
        metrics["warnings"].append(
            f"the victim is stochastic but the attack {reason}: robustness may be overestimated"
        )
    facts = {
        "weights": {
            "kind": cell.weights,
            "sha256": trained.sha256,
            "file": trained.path.name,
            "trained_now": trained.trained_now,
        },
        "teacher": teacher,
        "training": {"corpus": cell.corpus.label(), "seed": cell.seed, **overlap},
        "dataset_fingerprint": data.fingerprint,
        "threat_model": {"norm": threat.norm, "eps": threat.eps},
    }
    return metrics, samples, facts


def _attack(
    attack: Attack[Any],
    victim: Victim,
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


def _attack_steps(attack: Attack[Any]) -> int | None:
    """The attack's step count, when it has one (for the robust-accuracy-versus-steps curve)."""
    steps = getattr(attack.config, "steps", None)
    return steps if isinstance(steps, int) else None


def class_overlap(trained: Sequence[str], evaluated: Sequence[str]) -> dict[str, Any]:
    """Which evaluated class names the weights were trained on: zero-shot only if none."""
    seen = sorted(set(trained) & set(evaluated))
    return {"training_classes": len(set(trained)), "seen_classes": seen}
