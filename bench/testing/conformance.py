"""The shared conformance checks every plugin must pass, parametrized over the registries.

A new plugin is tested by `tests/test_conformance.py` without anyone writing a new test; third
parties can call these functions from their own CI. Each check uses the plugin's `smoke` config
(or its defaults) and runs on the CPU in seconds. Each returns, and with `echo` (the default)
prints, one line per property it verified (`bench.testing.checklist`); the first property a
plugin breaks raises an AssertionError that names it. The attack checks live in
`bench.testing.attack_checks`; this module is where plugin authors import all of them from.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import tempfile
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.contracts.clouds import validate_clouds
from bench.contracts.cloudset import CloudSet, fingerprint_arrays
from bench.contracts.config import build_config, config_to_dict
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import DATASETS, DEFENSES, METHODS, REGISTRIES, TEXT_ENCODERS
from bench.contracts.randomness import SampleStreams
from bench.contracts.registry import NAME_PATTERN
from bench.contracts.train_context import TrainContext
from bench.testing.attack_checks import check_attack
from bench.testing.checklist import Checklist
from bench.testing.public_formats import (
    write_modelnet40_h5,
    write_objaverse_lvis_openshape,
    write_openshape_class_embeddings,
    write_scanobjectnn_h5,
    write_shapenet55_ulip,
)
from bench.testing.smoke import smoke_config, smoke_flags, smoke_params
from bench.testing.toys import ToyVictim, toy_clouds, with_untrained_auxiliary

__all__ = [
    "KIND_CHECKS",
    "check_attack",
    "check_dataset",
    "check_defense",
    "check_metadata",
    "check_method",
    "check_text_encoder",
    "smoke_config",
    "smoke_flags",
    "smoke_params",
    "unbounded_fields",
]


def check_metadata(kind: str, name: str, *, echo: bool = True) -> list[str]:
    """Name, docstring, one-line description, version, a Config that round-trips, and bounds on
    every number field. Returns (and with `echo` prints) one line per property checked."""
    cls = REGISTRIES[kind].get(name).cls
    report = Checklist(kind[:-1], name, echo)
    assert NAME_PATTERN.match(name), f"{name} does not match {NAME_PATTERN.pattern}"
    assert (cls.__doc__ or "").strip(), f"{name} needs a docstring"
    assert cls.info.description and "\n" not in cls.info.description, (
        f"{name}: info.description must be one non-empty line"
    )
    assert isinstance(cls.version, int) and cls.version >= 1, f"{name}: version must be >= 1"
    report.ok(f"docstring, one-line description, version {cls.version}")
    configs = [cls.Config(), smoke_config(cls), *cls.presets.values()]
    for config in configs:
        assert isinstance(config, cls.Config)
        params = getattr(type(config), "__dataclass_params__", None)
        assert dataclasses.is_dataclass(config) and params is not None and params.frozen
        rebuilt = build_config(cls.Config, config_to_dict(config), name)
        assert rebuilt == config, f"{name}: config does not round-trip through a mapping"
    presets = f", {len(cls.presets)} presets" if cls.presets else ""
    report.ok(f"frozen Config round-trips through a mapping (defaults, smoke{presets})")
    check_config_bounds(kind, name)
    report.ok("number fields refuse NaN, +-inf, +-1e30 and +-2**64")
    return report.lines


# Numbers no config field should take: they fail deep in a cell, or give NaN weights a number.
ABSURD: dict[type, tuple[Any, ...]] = {
    float: (math.nan, math.inf, -math.inf, 1e30, -1e30),
    int: (2**64, -(2**64)),
}


def check_config_bounds(kind: str, name: str) -> None:
    """Every number field (also inside `X | None` and tuples) refuses absurd values with a
    ConfigError when the config is built: bound it with `bench.contracts.bounds.require`."""
    cls = REGISTRIES[kind].get(name).cls
    accepted = unbounded_fields(smoke_config(cls))
    assert not accepted, (
        f"{name}: its Config accepts {', '.join(accepted)}; bound these fields in __post_init__"
        " with bench.contracts.bounds.require"
    )


def unbounded_fields(config: Any) -> list[str]:
    """ "field=value" for each absurd number that a copy of `config` takes without a ConfigError."""
    hints = typing.get_type_hints(type(config))
    accepted = []
    for field in dataclasses.fields(config):
        for value in _absurd_values(hints[field.name], getattr(config, field.name)):
            try:
                dataclasses.replace(config, **{field.name: value})
            except ConfigError:
                continue
            accepted.append(f"{field.name}={value!r}")
    return accepted


def _absurd_values(annotation: Any, default: Any) -> tuple[Any, ...]:
    if annotation in ABSURD:
        return ABSURD[annotation]
    args = [a for a in typing.get_args(annotation) if a is not type(None) and a is not Ellipsis]
    if typing.get_origin(annotation) is tuple and args:
        return tuple((value,) * max(len(default or ()), 1) for value in ABSURD.get(args[0], ()))
    return tuple(value for arm in args for value in ABSURD.get(arm, ()))


def check_method(name: str, *, echo: bool = True) -> list[str]:
    """Finite logits, determinism, input gradients, and a training run that reloads strictly
    (for a method with a miniature recipe). Returns (and with `echo` prints) one line per
    property checked."""
    cls = METHODS.get(name).cls
    method = cls(smoke_config(cls))
    report = Checklist("method", name, echo)
    embed_dim = 16
    names = tuple(f"class {i}" for i in range(4))
    class_embeddings = torch.nn.functional.normalize(
        torch.randn(4, embed_dim, generator=torch.Generator().manual_seed(0)), dim=-1
    )
    points, labels = toy_clouds(8, 1024, seed=0)
    data = CloudSet(
        points.numpy(),
        (labels % 4).numpy(),
        names,
        tuple(str(i) for i in range(8)),
        fingerprint_arrays(points.numpy(), (labels % 4).numpy(), names),
    )
    ctx = TrainContext(data, class_embeddings, torch.device("cpu"), lambda done, total: None)
    rebuilt = method.build_encoder(embed_dim)
    if cls.miniature:
        first = method.train(ctx)
        second = method.train(ctx)
        for key, value in first.state_dict().items():
            assert torch.equal(value, second.state_dict()[key]), (
                f"{name}: training is not deterministic"
            )
        rebuilt.load_state_dict(first.state_dict(), strict=True)
        report.ok("training twice gives the same weights, which reload strictly")
    else:  # evaluated from released weights only: the architecture is checked, untrained
        assert cls.releases, f"{name} has neither a miniature recipe nor releases"
        report.skip("training", "released weights only")
    rebuilt.eval()
    x = points[:2].clone().requires_grad_(True)
    if method.stochastic:
        _check_noise_stream(name, rebuilt, method.preprocess(x), embed_dim)
        report.ok("noise drawn only from its generator keyword, and it varies with it")
    out = rebuilt(method.preprocess(x))
    assert out.shape == (2, embed_dim) and torch.isfinite(out).all(), (
        f"{name}: the encoder must give finite embeddings [B, {embed_dim}], not {tuple(out.shape)}"
    )
    report.ok(f"finite embeddings [B, {embed_dim}]")
    if not method.stochastic:
        assert torch.equal(out, rebuilt(method.preprocess(x))), f"{name} is not deterministic"
        report.ok("deterministic forward pass")
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0, (
        f"{name}: no finite, non-zero gradient reaches the input points through preprocess"
    )
    report.ok("finite, non-zero gradient with respect to the input points")
    return report.lines


def _check_noise_stream(name: str, encoder: torch.nn.Module, x: torch.Tensor, dim: int) -> None:
    """A stochastic encoder draws noise from its `generator` keyword only, and varies with it."""
    with torch.no_grad():
        torch.manual_seed(1)
        first = encoder(x, generator=torch.Generator().manual_seed(3))
        torch.manual_seed(2)
        again = encoder(x, generator=torch.Generator().manual_seed(3))
        other = encoder(x, generator=torch.Generator().manual_seed(4))
        assert torch.equal(first, again), f"{name} draws noise outside its generator"
        assert not torch.equal(first, other), f"{name} is declared stochastic but is not"
        if "draws" in inspect.signature(encoder.forward).parameters:
            batched = encoder(x, generator=torch.Generator().manual_seed(3), draws=3)
            assert batched.shape == (3, len(x), dim), f"{name}: draws must stack on dim 0"
            assert not torch.equal(batched[0], batched[1]), f"{name}: draws are not independent"


# Datasets read from files, and the writer of a stand-in in their published layout (each takes
# the folder and a `points` keyword).
STAND_INS: dict[str, Callable[..., Path]] = {
    "modelnet40": write_modelnet40_h5,
    "scanobjectnn": write_scanobjectnn_h5,
    "objaverse_lvis": write_objaverse_lvis_openshape,
    "shapenet55": write_shapenet55_ulip,
}


def check_dataset(name: str, *, echo: bool = True) -> list[str]:
    """Deterministic loads, labels in range, unique ids, a stable fingerprint; a dataset read
    from files is checked on a stand-in written in its published layout. Returns (and with
    `echo` prints) one line per property checked."""
    cls = DATASETS.get(name).cls
    config = smoke_config(cls)
    report = Checklist("dataset", name, echo)
    if name in STAND_INS:
        with tempfile.TemporaryDirectory() as directory:
            root = STAND_INS[name](Path(directory), points=64)
            report.ok("a stand-in in its published file layout is written")
            _check_dataset_loads(name, cls, dataclasses.replace(config, root=str(root)), report)
    else:
        _check_dataset_loads(name, cls, config, report)
    return report.lines


def _check_dataset_loads(name: str, cls: Any, config: Any, report: Checklist) -> None:
    first = cls(config).load("test")
    second = cls(config).load("test")
    validate_clouds(first.points, name)
    report.ok(f"finite clouds {list(first.points.shape)}")
    assert np.array_equal(first.points, second.points) and first.fingerprint == second.fingerprint
    report.ok("two loads give the same clouds and fingerprint")
    assert first.labels.min() >= 0 and first.labels.max() < len(first.class_names)
    assert len(set(first.ids)) == len(first.ids) == len(first), f"{name}: ids are not unique"
    report.ok(f"labels index its {len(first.class_names)} classes; ids are unique")
    assert first.fingerprint == fingerprint_arrays(
        first.points, first.labels, first.class_names, first.captions
    ), f"{name}: the fingerprint is not fingerprint_arrays(points, labels, class_names, captions)"
    report.ok("fingerprint matches its arrays")
    if first.captions is not None:
        assert len(first.captions) == len(first) and all(first.captions)
        report.ok("one non-empty caption per cloud")


def check_defense(name: str, *, echo: bool = True) -> list[str]:
    """Batch and channels kept, finite, input untouched; deterministic unless randomized, and
    then reproducible from its generator and batch-invariant with per-sample streams; a usable
    gradient (its own, or its BPDA surrogate's). Returns (and with `echo` prints) one line per
    property checked."""
    cls = DEFENSES.get(name).cls
    report = Checklist("defense", name, echo)
    points, _ = toy_clouds(4, 256, seed=2)
    defense = with_untrained_auxiliary(cls(smoke_config(cls)), points.shape[1])
    original = points.clone()
    out = defense.apply(points, torch.Generator().manual_seed(0))
    assert torch.equal(points, original), f"{name} mutated its input"
    report.ok("input left unchanged")
    assert out.shape[0] == points.shape[0] and out.shape[-1] == points.shape[-1]
    assert out.dtype == points.dtype and torch.isfinite(out).all()
    report.ok("batch size, channels and dtype kept; finite")
    again = defense.apply(points, torch.Generator().manual_seed(0))
    assert torch.equal(out, again), f"{name} draws randomness outside its generator"
    report.ok("randomness drawn only from its generator")
    if not cls.randomized:
        assert torch.equal(out, defense.apply(points, torch.Generator().manual_seed(1))), (
            f"{name} varies with its generator but is not declared randomized"
        )
        report.ok("deterministic (not randomized)")
    ids = [f"sample {i}" for i in range(len(points))]
    whole = defense.apply(points, SampleStreams.for_samples(0, ids, "victim"))
    part = defense.apply(points[2:], SampleStreams.for_samples(0, ids[2:], "victim"))
    assert torch.equal(whole[2:], part), f"{name}: a cloud's defense depends on its batch"
    report.ok("batch-invariant with per-sample streams")
    victim = ToyVictim(seed=0, defense=defense)
    x = points.clone().requires_grad_(True)
    victim.sample(x, 3 if victim.stochastic else 1).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0, f"{name} gives attacks no gradient (declare a surrogate)"
    through = "its BPDA surrogate" if defense.uses_bpda else "itself"
    report.ok(f"attacks get a finite, non-zero gradient through {through}")
    return report.lines


def check_text_encoder(name: str, *, echo: bool = True) -> list[str]:
    """Finite embeddings of a fixed width, deterministic, with a weights-bound identity.
    Returns (and with `echo` prints) one line per property checked."""
    cls = TEXT_ENCODERS.get(name).cls
    report = Checklist("text_encoder", name, echo)
    if name in TEXT_STAND_INS:  # reads a published file: checked on a stand-in of it
        with tempfile.TemporaryDirectory() as directory:
            _check_text_encoder(name, TEXT_STAND_INS[name](cls, Path(directory)), report)
    else:
        _check_text_encoder(name, cls(smoke_config(cls)), report)
    return report.lines


def _precomputed(cls: Any, directory: Path) -> Any:
    path = write_openshape_class_embeddings(directory / "feat.npy", ("chair", "airplane"), 8)
    return cls(cls.Config(path=str(path)))


def _ulip_text(cls: Any, directory: Path) -> Any:
    """A small open_clip tower saved in ULIP-1's layout (state_dict, "module." names)."""
    import open_clip

    tower = open_clip.create_model("ViT-S-32-alt", pretrained=None)
    state = {f"module.{k}": v for k, v in tower.state_dict().items() if not k.startswith("visual")}
    torch.save({"state_dict": state}, directory / "checkpoint.pt")
    return cls(cls.Config(checkpoint=str(directory / "checkpoint.pt"), model="ViT-S-32-alt"))


TEXT_STAND_INS = {"precomputed": _precomputed, "ulip_text": _ulip_text}


def _check_text_encoder(name: str, encoder: Any, report: Checklist) -> None:
    published = encoder.published_class_embeddings(["chair", "airplane"])
    if published is not None:  # a file of class embeddings: no texts to embed
        assert published.shape[0] == 2 and np.allclose(np.linalg.norm(published, axis=1), 1)
        report.ok("published class embeddings: one unit vector per class")
    else:
        texts = ["a point cloud model of chair.", "a point cloud model of airplane."]
        first = encoder.encode(texts)
        assert first.ndim == 2 and first.shape[0] == 2 and np.isfinite(first).all()
        report.ok(f"finite embeddings [texts, {first.shape[1]}]")
        assert np.allclose(first, encoder.encode(texts), atol=1e-6), f"{name} is not deterministic"
        report.ok("deterministic")
    assert encoder.identity().startswith(name), f"{name}: identity() must start with its name"
    report.ok(f"identity {encoder.identity()!r} starts with its name")


KIND_CHECKS: dict[str, Callable[..., list[str]]] = {
    "methods": check_method,
    "attacks": check_attack,
    "datasets": check_dataset,
    "defenses": check_defense,
    "text_encoders": check_text_encoder,
}
