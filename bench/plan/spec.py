"""Run specs: what to evaluate, expanded into cells (`bench.plan.cells`) before anything runs.

A spec (YAML) lists methods, datasets, attacks, defenses and seeds; it expands into their
product, with an explicit `sweep:` block turning a parameter list into several cells, plus the
products of its `also:` entries (each overrides some keys of the spec), without duplicates. Each
cell is resolved (configs validated and defaults filled in, plugin versions attached) before it
is hashed, so an explicit default and an omitted one give the same cell hash: the cache key.
Its data and files are fingerprinted by one `Resolver` per spec, never by a cache that outlives it.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from bench.contracts.bounds import SEED, check
from bench.contracts.config import (
    build_config,
    config_to_dict,
    load_yaml,
    yaml_problem,
)
from bench.contracts.errors import ConfigError, SpecError, clipped, shown
from bench.contracts.plugins import Plugin
from bench.data.classes import RELATIVE, SUBSETS
from bench.plan.cells import DEFAULT_CLASSES, Cell
from bench.plan.choice import KINDS, Choice
from bench.plan.corpus import DEFAULT_CORPUS, TEXT_SOURCES, Corpus
from bench.plan.resolve import Resolver
from bench.plan.training import Training
from bench.plan.weights_source import WEIGHTS_KEYS, WeightsSource, weights_source
from bench.storage.small_text import read_small_text
from bench.text.templates import templates

SPEC_KEYS = {
    "name",
    "description",
    "methods",
    "datasets",
    "attacks",
    "defenses",
    "seeds",
    "teachers",
    "corpus",
    "also",
}
ENTRY_KEYS = {"name", "preset", "params", "sweep"}
T = TypeVar("T")
CORPUS_KEYS = {"name", "params", "split", "classes", "text"}


def resolve(
    kind: str, entry: str | Mapping[str, Any], where: str, base: Any = None
) -> list[Choice]:
    """Choices for one spec entry: a name, or {name, preset, params, sweep}; `base` replaces
    the plugin's defaults (a release's config)."""
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, Mapping) or "name" not in entry:
        raise SpecError(f"{where} must be a plugin name or a mapping with a 'name'.")
    unknown = set(entry) - ENTRY_KEYS
    if unknown:
        raise SpecError(
            f"{where} has unknown keys {sorted(unknown, key=str)}; allowed: {sorted(ENTRY_KEYS)}."
        )
    name = entry["name"]
    if not isinstance(name, str):
        raise SpecError(f"{where}: 'name' must be a plugin name, not {shown(name)}.")
    cls = KINDS[kind].get(name).cls
    label = f"{kind} '{name}'"
    preset = entry.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise SpecError(f"{where}: 'preset' must be a preset name, not {shown(preset)}.")
    if base is not None and preset is not None:
        raise SpecError(f"{where}: a method with released weights takes no preset.")
    base = base if base is not None else _preset(cls, preset, label)
    given = entry.get("params") or {}
    if not isinstance(given, Mapping):
        raise SpecError(
            f"{where}: 'params' must map parameter names to values, not {shown(given)}."
        )
    params = {**config_to_dict(base), **given}
    sweep = entry.get("sweep") or {}
    if not isinstance(sweep, Mapping) or not all(isinstance(v, list) and v for v in sweep.values()):
        raise SpecError(f"{where}: 'sweep' must map parameter names to non-empty lists.")
    both = sorted(set(given) & set(sweep), key=str)
    if both:
        raise SpecError(f"{where} sets {both} in both 'params' and 'sweep'; keep one.")
    keys = list(sweep)
    return [
        Choice(kind, name, build_config(cls.Config, {**params, **swept}, label, name))
        for swept in (
            dict(zip(keys, values, strict=True))
            for values in itertools.product(*(sweep[k] for k in keys))
        )
    ]


@dataclass(frozen=True)
class _Entry:
    """One point of a spec's product, before its data is fingerprinted."""

    method: Choice
    source: WeightsSource
    teacher: Choice
    corpus: Corpus
    dataset: Choice
    classes: str | None  # None: the weights' default
    attack: Choice
    defense: Choice
    seed: int

    def training(self, resolver: Resolver) -> Training:
        release = self.source.release
        return resolver.training(
            self.method,
            self.teacher,
            self.corpus if release is None else release.corpus,
            self.seed,
            release,
            self.source.checkpoint,
            self.source.trust_pickle,
            self.source.training_processes,
        )

    def cell(self, resolver: Resolver) -> Cell:
        # Released weights are evaluated as their authors did (every class), by default.
        default = DEFAULT_CLASSES if self.source.release is None else "all"
        training = self.training(resolver)
        return resolver.cell(
            training, self.dataset, self.attack, self.defense, self.classes or default
        )


def expand(spec: Mapping[str, Any], where: str = "the spec") -> list[Cell]:
    """All cells of a spec, resolved and hashed, in a stable order, without duplicates."""
    return _distinct(spec, where, _Entry.cell, lambda cell: cell.hash)


def expand_trainings(spec: Mapping[str, Any], where: str = "the spec") -> list[Training]:
    """The distinct weights a spec's cells use, resolved without loading evaluation data."""
    return _distinct(spec, where, _Entry.training, lambda training: training.key)


def _distinct(
    spec: Mapping[str, Any],
    where: str,
    build: Callable[[_Entry, Resolver], T],
    key: Callable[[T], str],
) -> list[T]:
    """What `build` makes of each point of the spec, through one resolver, first of each key."""
    resolver = Resolver()
    found: dict[str, T] = {}
    for entry in _entries(spec, where):
        item = build(entry, resolver)
        found.setdefault(key(item), item)
    return list(found.values())


def _entries(spec: Mapping[str, Any], where: str) -> Iterator[_Entry]:
    """The points of a spec's product and of its `also:` parts, validated, in a stable order."""
    if not isinstance(spec, Mapping):
        raise SpecError(f"{where} must be a YAML mapping.")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise SpecError(
            f"{where} has unknown keys {sorted(unknown, key=str)}; allowed: {sorted(SPEC_KEYS)}."
        )
    for text in ("name", "description"):
        if text in spec and not isinstance(spec[text], str):
            raise SpecError(f"{where}: '{text}' must be text, not {shown(spec[text])}.")
    for required in ("methods", "attacks"):
        if not spec.get(required):
            raise SpecError(f"{where} needs a non-empty '{required}' list.")
    lists = {
        kind: _choices(kind, spec.get(kind + "s", [default]), where)
        for kind, default in (("attack", None), ("defense", "none"))
    }
    methods = _methods(spec["methods"], where)
    datasets = _datasets(spec.get("datasets", ["procedural40"]), where)
    corpora = _corpora(spec.get("corpus", DEFAULT_CORPUS), where)
    teachers = spec.get("teachers") or {}
    if not isinstance(teachers, Mapping) or not all(
        isinstance(v, Mapping) for v in teachers.values()
    ):
        raise SpecError(f"{where}: 'teachers' must map text-encoder names to their parameters.")
    seeds = spec.get("seeds", [0])
    if not isinstance(seeds, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in seeds
    ):
        raise SpecError(f"{where}: 'seeds' must be a list of integers.")
    for index, seed in enumerate(seeds):
        check(seed, SEED, f"{where}: seeds[{index}]")
    used = {method.config.text_encoder for method, _ in methods}
    for name in teachers:
        if name not in used:
            raise SpecError(
                f"{where}: 'teachers' configures {shown(name)}, which is not the text encoder of"
                f" any method here (they use {', '.join(sorted(used))})."
            )
    also = spec.get("also", [])
    if not isinstance(also, list) or not all(isinstance(part, Mapping) for part in also):
        raise SpecError(f"{where}: 'also' must be a list of mappings (spec keys to override).")
    for (method, source), corpus, (dataset, classes), attack, defense, seed in itertools.product(
        methods, corpora, datasets, lists["attack"], lists["defense"], seeds
    ):
        teacher = teacher_choice(method, teachers, source)
        yield _Entry(method, source, teacher, corpus, dataset, classes, attack, defense, seed)
    for index, part in enumerate(also):
        if "also" in part:
            raise SpecError(f"{where}: entries of 'also' cannot have an 'also' of their own.")
        base = {k: v for k, v in spec.items() if k != "also"}
        yield from _entries({**base, **part}, f"{where}, also[{index}]")


def teacher_choice(
    method: Choice,
    teachers: Mapping[str, Mapping[str, Any]],
    source: WeightsSource | None = None,
) -> Choice:
    """The method's text encoder, configured by the spec's `teachers` entry of that name, over
    the settings a release was evaluated with when it is that encoder."""
    release = source.release if source is not None else None
    name = method.config.text_encoder
    params = dict(release.teacher[1]) if release is not None and release.teacher[0] == name else {}
    if source is not None and release is not None and "checkpoint" in _fields("text_encoder", name):
        # A teacher stored in the checkpoint (ULIP-1's) reads the file the weights come from.
        params.update(checkpoint=source.checkpoint, trust_pickle=source.trust_pickle)
    params.update(teachers.get(name, {}))
    return resolve("text_encoder", {"name": name, "params": params}, name)[0]


SHIPPED_SPECS = Path(__file__).parent.parent / "specs"
MAX_SPEC_BYTES = 1 << 20  # a spec of a thousand entries is a few tens of kB


def shipped_specs() -> list[str]:
    """Names of the specs that ship with the package (`bench run --spec NAME`)."""
    return sorted(path.stem for path in SHIPPED_SPECS.glob("*.yaml"))


def load_spec(path: Path) -> list[Cell]:
    """Cells of a YAML spec file, or of a shipped spec given by its name (a name that is also a
    directory here, such as `attacks` in a source checkout, still means the shipped spec)."""
    return load_spec_text(spec_text(path), str(path))


def spec_text(path: Path) -> str:
    """The YAML text of a spec file, or of a shipped spec given by its name."""
    try:
        if not path.is_file() and str(path) in shipped_specs():
            path = SHIPPED_SPECS / f"{path}.yaml"
        return read_small_text(path, MAX_SPEC_BYTES, "spec file", SpecError)
    except OSError as error:
        shipped = ", ".join(shipped_specs())
        raise SpecError(
            f"Cannot read the spec file {clipped(str(path))}: {error.strerror} (shipped specs:"
            f" {shipped})."
        ) from None
    except UnicodeDecodeError:
        raise SpecError(f"{path} is not a text file; a spec is a YAML text file.") from None


def load_spec_text(text: str, where: str = "the spec") -> list[Cell]:
    """Cells of a spec given as YAML text (a bundle carries its spec so)."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as error:
        raise SpecError(f"{where} is not valid YAML: {yaml_problem(error)}.") from None
    return expand(data, where=where)


def _methods(entries: Any, where: str) -> list[tuple[Choice, WeightsSource]]:
    """Method choices with their weights: `weights: official` (or a release name) builds the
    release's architecture and runs its published file, `checkpoint:` says where it is."""
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"{where}: 'methods' must be a non-empty list.")
    found = []
    for i, entry in enumerate(entries):
        label = f"{where}: methods[{i}]"
        entry = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(entry, Mapping):
            raise SpecError(f"{label} must be a plugin name or a mapping with a 'name'.")
        source = weights_source(entry, label)
        rest = {k: v for k, v in entry.items() if k not in WEIGHTS_KEYS}
        base = None if source.release is None else source.release.config
        choices = resolve("method", rest, label, base)
        for choice in choices:
            templates(choice.config.templates)  # an unknown set is a sentence now, not in a cell
        found += [(choice, source) for choice in choices]
    return found


def _fields(kind: str, name: str) -> set[str]:
    return {f.name for f in dataclasses.fields(KINDS[kind].get(name).cls.Config)}


def _choices(kind: str, entries: Iterable[Any], where: str) -> list[Choice]:
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"{where}: '{kind}s' must be a non-empty list.")
    return [c for i, e in enumerate(entries) for c in resolve(kind, e, f"{where}: {kind}s[{i}]")]


def _datasets(entries: Any, where: str) -> list[tuple[Choice, str | None]]:
    """Evaluation datasets with their class subsets (`classes:`; None: the weights' default,
    unseen for miniatures, all for releases)."""
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"{where}: 'datasets' must be a non-empty list.")
    found = []
    for i, entry in enumerate(entries):
        label = f"{where}: datasets[{i}]"
        classes = None  # the default of the method's weights
        if isinstance(entry, Mapping) and "classes" in entry:
            classes = _subset(entry["classes"], label)
        if isinstance(entry, Mapping):
            entry = {k: v for k, v in entry.items() if k != "classes"}
        found += [(choice, classes) for choice in resolve("dataset", entry, label)]
    return found


def _corpora(entries: Any, where: str) -> list[Corpus]:
    """Training corpora: one mapping {name, params, split, classes}, or a list of them."""
    entries = entries if isinstance(entries, list) else [entries]
    corpora = []
    for i, entry in enumerate(entries):
        label = f"{where}: corpus" + (f"[{i}]" if len(entries) > 1 else "")
        if isinstance(entry, str):
            entry = {"name": entry}
        if not isinstance(entry, Mapping) or not set(entry) <= CORPUS_KEYS:
            raise SpecError(
                f"{label} must be a dataset name or a mapping with keys {sorted(CORPUS_KEYS)}."
            )
        merged = {**DEFAULT_CORPUS, **entry}
        split = merged["split"]
        if not isinstance(split, str):
            raise SpecError(f"{label}: 'split' must be a split name such as train.")
        if merged["classes"] in RELATIVE:
            raise SpecError(f"{label}: a training corpus cannot use the relative subset 'unseen'.")
        if merged["text"] not in TEXT_SOURCES:
            raise SpecError(f"{label}: 'text' must be one of {', '.join(TEXT_SOURCES)}.")
        choice = resolve("dataset", {"name": merged["name"], "params": merged.get("params")}, label)
        corpora.append(Corpus(choice[0], split, _subset(merged["classes"], label), merged["text"]))
    return corpora


def _subset(value: Any, where: str) -> str:
    if value not in SUBSETS:
        raise SpecError(
            f"{where}: 'classes' must be one of {', '.join(SUBSETS)}, not {shown(value)}."
        )
    return str(value)


def _preset(cls: type[Plugin[Any]], preset: str | None, label: str) -> Any:
    if preset is None:
        return cls.Config()
    if preset not in cls.presets:
        known = ", ".join(cls.presets) or "none"
        raise ConfigError(f"The {label} has no preset {shown(preset)}; presets: {known}.")
    return cls.presets[preset]
