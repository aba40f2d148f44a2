"""The one-cell spec behind `bench run --method ... --attack ...`: flags and `--set` values
turned into the spec a file would hold, so the command line and spec files share one path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.contracts.config import parse_value
from bench.contracts.errors import ConfigError, shown
from bench.contracts.plugins import METHODS
from bench.contracts.releases import MINIATURE, release_of
from bench.plan.corpus import DEFAULT_CORPUS
from bench.plan.spec import CORPUS_KEYS


def single_cell_spec(
    method: str,
    attack: str,
    dataset: str,
    defense: str,
    seed: int,
    preset: str | None,
    settings: Sequence[str],
    classes: str | None = None,
    weights: str = MINIATURE,
    checkpoint: str = "",
    trust_pickle: bool = False,
    training_processes: int = 1,
) -> dict[str, Any]:
    """The one-cell spec behind `bench run --method ... --attack ...`, with `--set` applied.

    `--set text_encoder.key=value` configures whichever text encoder the method uses;
    `--set corpus.name|split|classes=...` chooses the training corpus, and any other
    `corpus.key` is a parameter of the corpus dataset.
    """
    source = {"weights": weights, "checkpoint": checkpoint, "trust_pickle": trust_pickle,
              "training_processes": training_processes}  # fmt: skip
    entries: dict[str, dict[str, Any]] = {
        "method": {"name": method, "params": {}, **source},
        "text_encoder": {"name": "", "params": {}},
        "dataset": {"name": dataset, "params": {}, **({"classes": classes} if classes else {})},
        "corpus": {**DEFAULT_CORPUS, "params": {}},
        "attack": {"name": attack, "params": {}, **({"preset": preset} if preset else {})},
        "defense": {"name": defense, "params": {}},
    }
    entries["text_encoder"]["name"] = _method_teacher(method, settings, weights)
    for setting in settings:
        target, key, value = _split_setting(setting, entries)
        if target is entries["corpus"] and key in CORPUS_KEYS - {"params"}:
            target[key] = value
        else:
            target["params"][key] = value
    teacher = entries.pop("text_encoder")
    return {
        "seeds": [seed],
        "teachers": {teacher["name"]: teacher["params"]},
        "corpus": entries.pop("corpus"),
        **{kind + "s": [entry] for kind, entry in entries.items()},
    }


def _method_teacher(method: str, settings: Sequence[str], weights: str = MINIATURE) -> str:
    """The text encoder a method will use: its default (or its release's), unless
    `--set method.text_encoder=...`."""
    cls = METHODS.get(method).cls
    config = (
        cls.Config() if weights == MINIATURE else release_of(cls.releases, weights, method).config
    )
    name = config.text_encoder
    for setting in settings:
        path, _, raw = setting.partition("=")
        if path in ("method.text_encoder", f"{method}.text_encoder"):
            name = parse_value(raw)
    return str(name)


def _split_setting(
    setting: str, entries: Mapping[str, dict[str, Any]]
) -> tuple[dict[str, Any], str, Any]:
    path, sep, raw = setting.partition("=")
    prefix, dot, key = path.partition(".")
    if not sep or not dot or not key:
        raise ConfigError(
            f"--set expects plugin.key=value (e.g. attack.eps=0.02), not {shown(setting)}."
        )
    for kind, entry in entries.items():
        if prefix in (kind, entry["name"]):
            return entry, key, parse_value(raw)
    raise ConfigError(
        f"--set {shown(setting)}: {shown(prefix)} is none of method, text_encoder, corpus, dataset,"
        " attack, defense or the name of a chosen plugin."
    )
