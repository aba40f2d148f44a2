"""`bench.evaluate`: a victim or a registered method, attacked on a dataset, as cells are.

A registered method (`bench.load_method`) is evaluated as the very cells `bench run` would
plan for the same settings: same identity, same store entry, same numbers. A user's own
victim (`bench.Victim`) goes through the same split loop (`bench.evaluation.split`), under a
cell identity whose method part is the victim's identity: the sha256 of its encoder's state
plus the wrapper's config. With `store`, each record is stored under its cell hash in that
home's store, and an evaluation found there is served from it rather than recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from bench.api.attacks import ReadyAttack, get
from bench.api.loading import Dataset, Method, load_method
from bench.api.result import Result
from bench.api.victim import Victim
from bench.contracts.clouds import validate_clouds
from bench.contracts.concepts import seen_names
from bench.contracts.config import config_to_dict
from bench.contracts.errors import UsageError
from bench.contracts.hashing import sha256_of
from bench.contracts.plugins import TEXT_ENCODERS, victim_names
from bench.contracts.runtime import Runtime
from bench.evaluation.split import Run, attack_runs, attack_split, split_metrics, threat_facts
from bench.evaluation.summary import protocol_metrics
from bench.plan.cells import CELL_SCHEMA
from bench.plan.choice import KINDS, Choice
from bench.plan.corpus import subset_suffix
from bench.plan.spec import expand, resolve
from bench.running.provenance import code_version, environment, utc_now
from bench.running.task import Outcome, claim_and_compute, compute
from bench.storage.claims import claim
from bench.storage.store import Record, Store

OWN_ENCODER = "own_encoder"  # the method name of a user's victim in cell identities


def evaluate(
    model: Victim | Method,
    dataset: Dataset,
    attacks: Sequence[str | ReadyAttack] = ("standard",),
    defense: str | Mapping[str, Any] | None = None,
    seed: int | None = None,
    store: str | Path | None = None,
    device: str = "cpu",
    batch_size: int = 32,
) -> Result:
    """Attack `model` on `dataset` with each attack (a name, or `bench.attacks.get(...)`),
    behind `defense` (a registered defense's name, or `{"name": ..., "params": {...}}` as in a
    spec), and measure as a cell does.

    `seed` keys every random draw (default 0); a method's cells are seeded by its weights'
    seed, given to `load_method`. With `store` (a bench home folder), records are stored
    there as `bench run` stores cells, and ones already stored are served from it.
    """
    ready = [a if isinstance(a, ReadyAttack) else get(a) for a in attacks]
    if not ready:
        raise UsageError("Give at least one attack, e.g. attacks=['standard'].")
    (guard,) = resolve("defense", defense or "none", "the defense")
    runtime = Runtime(device, batch_size)
    root = Path(store).expanduser() / "store" if store is not None else None
    if isinstance(model, Method):
        if seed is not None and seed != model.seed:
            raise UsageError(
                f"The method's weights were loaded for seed {model.seed}, which seeds its cells"
                f" too; load it with load_method(..., seed={seed})."
            )
        outcomes = [_method_outcome(model, dataset, a, guard, runtime, root) for a in ready]
    else:
        outcomes = [
            _victim_outcome(model, dataset, a, guard, seed or 0, runtime, root) for a in ready
        ]
    return Result(tuple(o.record for o in outcomes), tuple(o.reused for o in outcomes))


def _method_outcome(
    method: Method,
    dataset: Dataset,
    attack: ReadyAttack,
    defense: Choice,
    runtime: Runtime,
    root: Path | None,
) -> Outcome:
    """The cell `bench run` plans for these settings, computed or served from the store."""
    if dataset.split != "test":
        raise UsageError("A method is evaluated on a dataset's test split, as cells are.")
    spec = {
        **method.spec,
        "datasets": [_entry(dataset.choice) | {"classes": dataset.classes}],
        "attacks": [_entry(attack.choice)],
        "defenses": [_entry(defense)],
    }
    (cell,) = expand(spec, where=f"evaluate({method.name!r})")
    if cell.data_fingerprint != dataset.fingerprint:
        raise UsageError(
            f"The clouds of the dataset are not those a cell of {method.name} evaluates: its"
            f" classes '{dataset.classes}' were taken relative to other training classes; load"
            " it with trained_on= this method."
        )
    if root is None:
        return Outcome(compute(cell, runtime), reused=False)
    outcome = claim_and_compute(cell, runtime, root)
    assert outcome is not None  # a waiting claim always ends in an outcome
    return outcome


def _victim_outcome(
    victim: Victim,
    dataset: Dataset,
    attack: ReadyAttack,
    defense: Choice,
    seed: int,
    runtime: Runtime,
    root: Path | None,
) -> Outcome:
    """The victim's cell: found in the store, or computed (and stored) under the cell's claim,
    so that concurrent calls for one cell compute it once."""
    for choice in (attack.choice, defense):
        recipe = choice.instantiate().auxiliary_model()
        if recipe is not None:
            raise UsageError(
                f"{choice.name} needs its {recipe.name} network trained on the victim's training"
                " corpus, which an in-memory victim does not name: evaluate a method"
                " (bench.load_method) instead."
            )
    names = victim_names(dataset.class_names, attack.plugin)
    base = victim.for_classes(names).to(torch.device(runtime.device))
    identity = _identity(base, dataset, attack, defense, seed)
    cell_hash = sha256_of(identity)
    if root is None:
        record = _victim_record(base, identity, cell_hash, dataset, attack, defense, runtime)
        return Outcome(record, reused=False)
    store = Store(root)
    with claim(store.claim_path(cell_hash)):
        found = store.get(cell_hash)
        if found is not None and found.status == "ok":
            return Outcome(found, reused=True)
        record = _victim_record(base, identity, cell_hash, dataset, attack, defense, runtime)
        store.put(record)
        return Outcome(record, reused=False)


def _victim_record(
    base: Victim,
    identity: dict[str, Any],
    cell_hash: str,
    dataset: Dataset,
    attack: ReadyAttack,
    defense: Choice,
    runtime: Runtime,
) -> Record:
    """The victim's cell computed through the split loop, as a cell is."""
    data, seed = dataset.data, identity["seed"]
    started = utc_now()
    torch.manual_seed(seed)
    validate_clouds(data.points, f"The {dataset.split} split of dataset '{dataset.name}'")
    defended = base.behind(defense.instantiate()) if defense.name != "none" else base
    plugin = attack.plugin
    if plugin.access == "transfer":
        # Crafted on the source method, trained as a cell's transfer source is; run once.
        source = load_method(plugin.config.source, seed=seed)
        crafting = source.victim(base.class_names, runtime.device, plugin.config.templates)
        runs = [Run("", plugin, crafting, "attack")]
    else:
        runs = attack_runs(plugin, defended, (lambda: base) if defense.name != "none" else None)
    attacked = attack_split(defended, runs, data, seed, runtime, None, attack.choice.label())
    metrics = split_metrics(attacked, defended, runs)
    extra = base.class_names[len(data.class_names) :]
    seen = None if base.trained_on is None else seen_names(data.class_names, base.trained_on)
    metrics.update(protocol_metrics(seen, attacked.samples, data.class_names))
    state = identity["method"]["config"]["state_sha256"]
    labels = {
        "method": f"{type(base.encoder).__name__}@{state[:8]}",
        "teacher": _teacher_label(base),
        "corpus": _corpus_label(base.trained_on),
        "dataset": dataset.choice.label() + subset_suffix(dataset.classes),
        "attack": attack.choice.label(),
        "defense": defense.label(),
    }
    return Record(
        cell_hash=cell_hash,
        cell=identity,
        labels=labels,
        status="ok",
        metrics=metrics,
        samples=attacked.samples,
        provenance={
            **_provenance(attack, defense, dataset, seed, runtime, started, plugin),
            "weights": {"kind": "in-memory", "sha256": state, "file": "", "trained_now": False},
            "teacher": labels["teacher"],
            **({"extra_classes": list(extra)} if extra else {}),
        },
    )


def _corpus_label(trained_on: tuple[str, ...] | None) -> str:
    if trained_on is None:
        return "unknown"
    return f"{len(trained_on)} declared classes"


def _identity(
    victim: Victim, dataset: Dataset, attack: ReadyAttack, defense: Choice, seed: int
) -> dict[str, Any]:
    """The victim's cell identity: a cell's, with the victim's identity as its method."""
    return {
        "schema": CELL_SCHEMA,
        "method": {"name": OWN_ENCODER, "version": 1, "config": victim.identity()},
        "weights": "in-memory",
        "dataset": dataset.choice.identity(),
        "split": dataset.split,
        "classes": dataset.classes,
        "data_fingerprint": dataset.fingerprint,
        "attack": attack.choice.identity(),
        "defense": defense.identity(),
        "seed": seed,
    }


def _provenance(
    attack: ReadyAttack,
    defense: Choice,
    dataset: Dataset,
    seed: int,
    runtime: Runtime,
    started: str,
    plugin: Any,
) -> dict[str, Any]:
    plugins = {
        kind: {"name": c.name, "version": c.version, "origin": KINDS[kind].get(c.name).origin}
        for kind, c in (
            ("dataset", dataset.choice),
            ("attack", attack.choice),
            ("defense", defense),
        )
    }
    return {
        **code_version(),
        **environment(runtime.device),
        "plugins": plugins,
        "seed": seed,
        "batch_size": runtime.batch_size,
        "dataset_fingerprint": dataset.fingerprint,
        "threat_model": threat_facts(plugin.threat_model()),
        "started_at": started,
        "finished_at": utc_now(),
    }


def _teacher_label(victim: Victim) -> str:
    """The registered name of the victim's text encoder, or where its embeddings came from."""
    if victim.teacher is None:
        return "given embeddings"
    kind = type(victim.teacher)
    return next((e.name for e in TEXT_ENCODERS.entries() if e.cls is kind), kind.__name__)


def _entry(choice: Choice) -> dict[str, Any]:
    """A spec entry that resolves to this choice."""
    return {"name": choice.name, "params": config_to_dict(choice.config)}
