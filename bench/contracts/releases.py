"""Published checkpoints of a method, and what their authors declare about them.

A method that has released weights lists them as `releases`. Each release says how to build the
official architecture (a config of the method), where the file is published and how its tensors
are laid out, which teacher and prompts its authors evaluated it with, what it was pre-trained
on (so that "zero-shot" is printed only when the evaluated class names are not in it) and the
zero-shot accuracies its authors report, with their source, which tables print beside ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bench.contracts.concepts import seen_names
from bench.contracts.errors import ConfigError, shown

MINIATURE = "miniature"  # the weights the harness trains itself
OFFICIAL = "official"  # the method's first release
SHAPENET55_FILE = Path(__file__).parent.parent / "data" / "shapenet55_synsets.txt"


@dataclass(frozen=True)
class PublishedLayout:
    """Where an encoder's tensors are in a published checkpoint file."""

    top_level_key: str | None  # the entry holding the state dict; None: the file is the dict
    key_prefix: str  # before every name, e.g. "module."
    owned: tuple[str, ...]  # names (after the prefix) or name prefixes that are the encoder's
    optional_prefix: str = ""  # stripped from every name when the first one has it

    def owns(self, name: str) -> bool:
        return any(name == o or (o.endswith(".") and name.startswith(o)) for o in self.owned)


# ULIP-1 and ULIP-2 (salesforce/ULIP main.py): ckpt["state_dict"], "module." stripped.
ULIP_LAYOUT = PublishedLayout("state_dict", "module.", ("point_encoder.", "pc_projection"))
# OpenShape (src/example.py load_model): the keys with "module.", PPAT plus its projection.
OPENSHAPE_LAYOUT = PublishedLayout("state_dict", "module.", ("ppat.", "proj."))
# Uni3D (main.py test_zeroshot_3d): checkpoint["module"], the whole Uni3D module's names,
# a leading "module." stripped if the first key has one; released in float16.
UNI3D_LAYOUT = PublishedLayout(
    "module", "", ("point_encoder.", "logit_scale"), optional_prefix="module."
)
LAYOUTS = {"ulip": ULIP_LAYOUT, "openshape": OPENSHAPE_LAYOUT, "uni3d": UNI3D_LAYOUT}


@dataclass(frozen=True)
class PretrainingCorpus:
    """What released weights were trained on, as far as class names go.

    `vocabularies` name the labelled sets whose class names (with their synonyms) the training
    text used; `open_vocabulary` marks corpora whose text is free captions (Objaverse, BLIP
    captions of ShapeNet renders), in which any everyday class name may occur: no evaluated
    class is then verifiably unseen.
    """

    name: str
    vocabularies: tuple[str, ...] = ()
    open_vocabulary: bool = False

    def class_names(self) -> tuple[str, ...] | None:
        """The known training class names with their synonyms; None for open vocabularies."""
        if self.open_vocabulary:
            return None
        return tuple(name for v in self.vocabularies for name in vocabulary(v))

    def seen(self, evaluated: tuple[str, ...]) -> list[str] | None:
        """The evaluated names that occur in the training text (None: cannot be ruled out): by
        concept (a synonym or hypernym counts, `bench.contracts.concepts`), and by folded name
        or head noun for the names the concept table does not relate."""
        names = self.class_names()
        if names is None:
            return None
        known = {key for name in names for key in _match_keys(name)}
        worded = [name for name in evaluated if set(_match_keys(name)[:1]) <= known]
        return seen_names(evaluated, (*names, *worded))

    def identity(self) -> dict[str, Any]:
        return {
            "declared": self.name,
            "vocabularies": list(self.vocabularies),
            "open_vocabulary": self.open_vocabulary,
        }

    def label(self) -> str:
        return self.name


@dataclass(frozen=True)
class PublishedAccuracy:
    """A zero-shot top-1 accuracy the authors report, on a harness dataset, all its classes.

    `params` are the dataset settings it holds for (e.g. a ScanObjectNN variant); empty: any.
    """

    dataset: str
    top1: float  # in %
    source: str  # where it is reported, e.g. "Uni3D README, model zoo table"
    params: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""  # how the authors' protocol differs, if it does


@dataclass(frozen=True)
class Release:
    """One published checkpoint file of a method."""

    name: str  # what `--weights` takes, e.g. "uni3d-b"
    config: Any  # the method config that builds the official architecture
    layout: PublishedLayout
    hub: str  # the Hugging Face repository it is published in
    file: str  # its path there
    size: str  # as published, e.g. "178 MB"
    embed_dim: int  # the width of its output, its teacher's embedding width
    teacher: tuple[str, Mapping[str, Any]]  # text encoder name and params it was evaluated with
    corpus: PretrainingCorpus
    published: tuple[PublishedAccuracy, ...] = ()
    sha256: str | None = None  # the file's, where its publisher gives it: checked when found
    paper: tuple[str, str] = ("", "")  # citation and link
    code: str = ""  # the authors' code

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.hub}/blob/main/{self.file}"

    def reported(self, dataset: str, params: Mapping[str, Any]) -> PublishedAccuracy | None:
        """The authors' number for this evaluation, when they report one."""
        for entry in self.published:
            if entry.dataset == dataset and all(
                params.get(k) == v for k, v in entry.params.items()
            ):
                return entry
        return None


def vocabulary(name: str) -> tuple[str, ...]:
    """The class names of a labelled training set, each synonym its own entry."""
    if name != "shapenet55":
        raise ValueError(f"Unknown training vocabulary {name!r}.")
    return _shapenet55()


@cache
def _shapenet55() -> tuple[str, ...]:
    lines = SHAPENET55_FILE.read_text(encoding="utf-8").splitlines()
    synsets = [line.split("\t", 1)[1] for line in lines if line and not line.startswith("#")]
    return tuple(lemma.strip() for synset in synsets for lemma in synset.split(",") if lemma)


def _match_keys(name: str) -> tuple[str, ...]:
    """A name folded (case, spaces, underscores, hyphens and parentheses ignored), then its
    head noun: an evaluated name is seen when its folded form is a training name's, or a
    training name's head noun, so "flower pot" meets "flowerpot" and "keyboard" meets "computer
    keyboard". Head nouns err towards "seen", the safe side for a zero-shot claim."""
    words = [w for w in re.split(r"[\s_\-]+", re.sub(r"\(.*?\)", "", name.lower())) if w]
    if not words:
        return ()
    return ("".join(words), words[-1]) if len(words) > 1 else (words[0],)


def release_of(releases: Mapping[str, Release], weights: str, method: str) -> Release:
    """The release `--weights` names: `official` is the method's first."""
    if not releases:
        raise ConfigError(
            f"The method '{method}' has no published weights; it runs with --weights {MINIATURE}."
        )
    if weights == OFFICIAL:
        return next(iter(releases.values()))
    if weights not in releases:
        known = ", ".join([OFFICIAL, *releases])
        raise ConfigError(
            f"The method '{method}' has no release {shown(weights)}; it has: {known}."
        )
    return releases[weights]


RELEASE_KEYS = {
    "name", "method", "official", "config", "layout", "hub", "file", "size", "sha256",
    "embed_dim", "teacher", "corpus", "paper", "code", "reported",
}  # fmt: skip
SHA256 = re.compile(r"[0-9a-f]{64}")


def release_table(folder: Path, method: str, config: type) -> dict[str, Release]:
    """The releases of `method` among the entry files of `folder` (one YAML file per published
    checkpoint, `baselines/entries/`), each checked and built; its `official` one first."""
    from bench.contracts.config import build_config, load_yaml

    releases, official = {}, []
    for path in sorted(folder.glob("*.yaml")):
        row = load_yaml(path.read_text(encoding="utf-8"))
        where = f"entry {path.name}"
        if not isinstance(row, Mapping) or set(row) != RELEASE_KEYS:
            raise ConfigError(f"The {where} needs exactly the keys {sorted(RELEASE_KEYS)}.")
        if row["name"] != path.stem:
            raise ConfigError(
                f"The {where} names the release {shown(row['name'])}, not its file's."
            )
        if row["sha256"] is not None and not SHA256.fullmatch(str(row["sha256"])):
            raise ConfigError(f"The {where} has a sha256 that is not 64 lower-case hex digits.")
        if row["method"] != method:
            continue
        if row["official"]:
            official.append(row["name"])
        reported = tuple(
            PublishedAccuracy(
                r["dataset"], float(r["top1"]), r["source"], r.get("params", {}), r.get("note", "")
            )
            for r in row["reported"]
        )
        corpus = row["corpus"]
        releases[row["name"]] = Release(
            name=row["name"],
            config=build_config(config, row["config"], where),
            layout=LAYOUTS[row["layout"]],
            hub=row["hub"],
            file=row["file"],
            size=row["size"],
            embed_dim=int(row["embed_dim"]),
            teacher=(row["teacher"]["name"], row["teacher"]["params"]),
            corpus=PretrainingCorpus(
                corpus["name"],
                tuple(corpus.get("vocabularies", ())),
                corpus.get("open_vocabulary", False),
            ),
            published=reported,
            sha256=row["sha256"],
            paper=(row["paper"]["cite"], row["paper"]["url"]),
            code=row["code"],
        )
    if releases and len(official) != 1:
        raise ConfigError(
            f"Exactly one entry of method '{method}' in {folder.name}/ must be official, not"
            f" {len(official)}."
        )
    return {name: releases[name] for name in sorted(releases, key=lambda n: n not in official)}
