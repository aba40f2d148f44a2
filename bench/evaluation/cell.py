"""One cell's evaluation: build the victim, attack the split in batches, check, measure.

Every adversarial batch is checked against the attack's declared threat model before any
number is kept; a violation fails the cell.

Against a stochastic victim, predictions are majorities over fresh noise draws, and a gradient
attack runs twice: naively (one draw per step) and adaptively (EOT, the attack's `eot_draws`).
`robust_acc` is the adaptive number and `robust_acc_naive` the naive one; against a deterministic
victim the two are the same run.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from bench.contracts.clouds import validate_clouds
from bench.contracts.runtime import ProgressFactory, Runtime
from bench.evaluation.eot import VOTES, attack_draws, has_eot, naive_variant
from bench.evaluation.metrics import perturbation_metrics
from bench.evaluation.threat import check_threat_model
from bench.evaluation.victim import Victim
from bench.running.spec import Cell
from bench.training.teacher import teacher_embeddings
from bench.training.weights import obtain_encoder


def evaluate_cell(
    cell: Cell, runtime: Runtime, progress: ProgressFactory
) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, Any]]:
    """Metrics, per-sample outcomes and provenance facts of one cell."""
    device = torch.device(runtime.device)
    torch.manual_seed(cell.seed)
    method = cell.method.instantiate()
    data = cell.dataset.instantiate().load(cell.split)
    validate_clouds(data.points, f"The {cell.split} split of dataset '{cell.dataset.name}'")
    teacher_encoder = cell.teacher.instantiate()
    trained = obtain_encoder(method, cell.method.identity(), teacher_encoder, device, progress)
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
        defense=defense.apply,
        noise_seed=cell.seed,
    ).to(device)
    attack = cell.attack.instantiate()
    naive = naive_variant(attack, victim)
    threat = attack.threat_model()
    generator = torch.Generator(device=device).manual_seed(cell.seed)
    votes = VOTES if victim.stochastic else 1

    started = time.perf_counter()
    columns: dict[str, list[torch.Tensor]] = {}
    queries = 0
    total = len(data)
    report = progress(f"{cell.attack.label()} on {cell.method.name}")
    for start in range(0, total, runtime.batch_size):
        points = torch.from_numpy(data.points[start : start + runtime.batch_size]).to(device)
        labels = torch.from_numpy(data.labels[start : start + runtime.batch_size]).to(device)
        batch = {"label": labels, "clean_pred": victim.vote(points, votes)}
        if naive is not None:
            naive_output = naive.run(victim, points, labels, generator)
            check_threat_model(threat, points, naive_output.points)
            batch["adv_pred_naive"] = victim.vote(naive_output.points, votes)
        output = attack.run(victim, points, labels, generator)
        check_threat_model(threat, points, output.points)
        batch["adv_pred"] = victim.vote(output.points, votes)
        batch.update(perturbation_metrics(points, output.points))
        batch.update(output.stats)
        for name, values in batch.items():
            columns.setdefault(name, []).append(values.detach().cpu())
        queries = output.gradient_queries
        report(min(start + runtime.batch_size, total), total)
    wall = time.perf_counter() - started

    samples = {name: torch.cat(values).tolist() for name, values in columns.items()}
    samples["id"] = list(data.ids)
    metrics = summarize(samples, threat.eps)
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
        "dataset_fingerprint": data.fingerprint,
        "threat_model": {"norm": threat.norm, "eps": threat.eps},
    }
    return metrics, samples, facts


def summarize(samples: dict[str, list[Any]], eps: float) -> dict[str, Any]:
    """Accuracies, attack success and perturbation means, plus attack-failure indicators.

    Attack success is the share of clean-correct samples the attack flips, or for a targeted
    attack (samples carry a `target`), the share of them classified as their target.
    """
    label = np.asarray(samples["label"])
    clean_ok = np.asarray(samples["clean_pred"]) == label
    adv_pred = np.asarray(samples["adv_pred"])
    adv_ok = adv_pred == label
    success = adv_pred == np.asarray(samples["target"]) if "target" in samples else ~adv_ok
    naive_pred = np.asarray(samples.get("adv_pred_naive", adv_pred))
    metrics: dict[str, Any] = {
        "n": int(label.size),
        "clean_acc": float(clean_ok.mean()),
        "robust_acc": float(adv_ok.mean()),
        "robust_acc_naive": float((naive_pred == label).mean()),
        "attack_success_rate": float(success[clean_ok].mean()) if clean_ok.any() else 0.0,
    }
    for name in ("linf", "l2", "chamfer", "hausdorff", "points_changed"):
        if name in samples:
            metrics[f"{name}_mean"] = float(np.mean(samples[name]))
    warnings = []
    if eps > 0 and "loss_start" in samples and "loss_final" in samples:
        if np.mean(samples["loss_final"]) <= np.mean(samples["loss_start"]):
            warnings.append("the attack did not increase the loss")
    if metrics["robust_acc"] > metrics["clean_acc"]:
        warnings.append("accuracy under attack is above clean accuracy")
    if metrics["robust_acc"] > metrics["robust_acc_naive"]:
        warnings.append("the adaptive (EOT) attack did worse than the naive one")
    metrics["warnings"] = warnings
    return metrics
