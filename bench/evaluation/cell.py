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

The clean votes and the attack of the clean-correct samples are `bench.evaluation.split`'s,
shared with the Python API; this module builds what it needs from a planned cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from bench.contracts.clouds import validate_clouds
from bench.contracts.config import config_to_dict
from bench.contracts.errors import DataError, WeightsError
from bench.contracts.plugins import Attack, victim_names
from bench.contracts.runtime import Runtime
from bench.evaluation.split import Run, attack_runs, attack_split, split_metrics, threat_facts
from bench.evaluation.summary import protocol_metrics
from bench.evaluation.victim import ZeroShotVictim
from bench.plan.auxiliary import AuxiliaryTraining
from bench.plan.cells import Cell
from bench.plan.training import Training
from bench.storage.partial import PartialResults
from bench.training.auxiliary import obtain_auxiliary
from bench.training.teacher import teacher_embeddings
from bench.training.trained import TrainedEncoder
from bench.training.weights import obtain_encoder


def evaluate_cell(
    cell: Cell,
    runtime: Runtime,
    partial: PartialResults | None = None,
    only: Sequence[str] | None = None,
) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, Any]]:
    """Metrics, per-sample outcomes and provenance facts of one cell.

    With `partial`, the batches it saved are taken as done and each new one is saved to it.
    With `only`, just these samples (ids) are evaluated: each sample's random streams depend on
    its id and the seed alone, so its outcome is the one the whole split gives it (the spot
    check of contributed results relies on this).
    """
    device = torch.device(runtime.device)
    torch.manual_seed(cell.seed)
    data = cell.evaluation_data()
    if data.fingerprint != cell.data_fingerprint:
        raise DataError(
            f"The data of {cell.dataset.label()} changed after the cell was planned (fingerprint"
            f" {data.fingerprint[:16]}, planned {cell.data_fingerprint[:16]}); run it again."
        )
    if only is not None:
        data = data.select(only)
    validate_clouds(data.points, f"The {cell.split} split of dataset '{cell.dataset.name}'")
    defense = cell.defense.instantiate()
    attack = cell.attack.instantiate()
    auxiliaries = {
        user: _bind(plugin, training, device)
        for user, plugin, training in (
            ("attack", attack, cell.attack_auxiliary),
            ("defense", defense, cell.defense_auxiliary),
        )
        if training is not None
    }
    names = victim_names(data.class_names, attack)
    extra = names[len(data.class_names) :]
    victim, trained, teacher = method_victim(cell.training, names, device, defense)
    threat = attack.threat_model()
    runs = _runs(cell, attack, victim, names, device)
    attacked = attack_split(victim, runs, data, cell.seed, runtime, partial, cell.label())
    samples = attacked.samples
    metrics = split_metrics(attacked, victim, runs)
    seen = cell.corpus.seen(data.class_names)
    overlap = {"seen_classes": seen} if seen is not None else {"open_vocabulary": True}
    metrics.update(protocol_metrics(seen, samples, data.class_names))
    reported = _reported(cell)
    if reported is not None:
        metrics["reported_acc"] = reported["top1"] / 100
    facts = {
        "weights": {
            "kind": cell.weights,
            "sha256": trained.sha256,
            "file": trained.path.name,
            "trained_now": trained.trained_now,
        },
        "teacher": teacher,
        **({"auxiliary": auxiliaries} if auxiliaries else {}),
        "training": {"corpus": cell.corpus.label(), "seed": cell.seed, **overlap},
        **({"reported": reported} if reported is not None else {}),
        "dataset_fingerprint": data.fingerprint,
        "threat_model": threat_facts(threat),
        **({"extra_classes": list(extra)} if extra else {}),
    }
    return metrics, samples, facts


def _bind(plugin: Any, training: AuxiliaryTraining, device: torch.device) -> dict[str, Any]:
    """Train or load the network the plugin needs, bind it, and say which weights it was."""
    trained = obtain_auxiliary(training, device)
    plugin.bind_auxiliary(trained.module)
    return {
        "recipe": training.recipe.label(),
        "sha256": trained.sha256,
        "trained_now": trained.trained_now,
    }


def method_victim(
    training: Training,
    class_names: tuple[str, ...],
    device: torch.device,
    defense: Any = None,
    templates: str = "",
) -> tuple[ZeroShotVictim, TrainedEncoder, str]:
    """The trained method as a zero-shot classifier over `class_names`, behind `defense`; with
    the weights it runs and the identity of the teacher its class embeddings come from.
    `templates` replaces the method's prompt-template set (a prompt-transfer source)."""
    method = training.method.instantiate()
    trained = obtain_encoder(training, device)
    embeddings, teacher = teacher_embeddings(
        training.teacher.instantiate(), templates or method.config.templates, class_names
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
) -> list[Run]:
    """The attack runs of the module docstring, the attack as configured first."""
    if cell.transfer is not None:
        templates = getattr(attack.config, "templates", "")
        crafting, _, _ = method_victim(cell.transfer, names, device, templates=templates)
        return [Run("", attack, crafting, "attack")]
    if cell.defense.name == "none":
        return attack_runs(attack, victim)
    return attack_runs(attack, victim, lambda: method_victim(cell.training, names, device)[0])


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
