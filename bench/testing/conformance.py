"""The shared conformance checks every plugin must pass, parametrized over the registries.

A new plugin is tested by `tests/test_conformance.py` without anyone writing a new test; third
parties can call these functions from their own CI. Each check uses the plugin's `smoke` config
(or its defaults) and runs on the CPU in seconds.
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
from bench.contracts.plugins import (
    ATTACKS,
    DATASETS,
    DEFENSES,
    METHODS,
    REGISTRIES,
    TEXT_ENCODERS,
    Plugin,
)
from bench.contracts.randomness import SampleStreams
from bench.contracts.registry import NAME_PATTERN
from bench.contracts.train_context import TrainContext
from bench.evaluation.threat import check_threat_model
from bench.testing.public_formats import (
    write_modelnet40_h5,
    write_objaverse_lvis_openshape,
    write_openshape_class_embeddings,
    write_scanobjectnn_h5,
    write_shapenet55_ulip,
)
from bench.testing.toys import ToyVictim, toy_clouds


def smoke_config(cls: type[Plugin[Any]]) -> Any:
    return cls.smoke if cls.smoke is not None else cls.Config()


def smoke_params(kind: str, name: str) -> dict[str, Any]:
    """The smoke config as spec params: only the values that differ from the defaults."""
    cls = REGISTRIES[kind].get(name).cls
    smoke, defaults = config_to_dict(smoke_config(cls)), config_to_dict(cls.Config())
    return {key: value for key, value in smoke.items() if value != defaults[key]}


def smoke_flags(kind: str, name: str) -> list[str]:
    """The smoke config as `bench run --set` flags, e.g. `--set=method.epochs=1`."""
    return [f"--set={kind[:-1]}.{key}={value}" for key, value in smoke_params(kind, name).items()]


def check_metadata(kind: str, name: str) -> None:
    """Name, docstring, one-line description, version, and a Config that round-trips."""
    cls = REGISTRIES[kind].get(name).cls
    assert NAME_PATTERN.match(name)
    assert (cls.__doc__ or "").strip(), f"{name} needs a docstring"
    assert cls.info.description and "\n" not in cls.info.description
    assert isinstance(cls.version, int) and cls.version >= 1
    configs = [cls.Config(), smoke_config(cls), *cls.presets.values()]
    for config in configs:
        assert isinstance(config, cls.Config)
        params = getattr(type(config), "__dataclass_params__", None)
        assert dataclasses.is_dataclass(config) and params is not None and params.frozen
        rebuilt = build_config(cls.Config, config_to_dict(config), name)
        assert rebuilt == config, f"{name}: config does not round-trip through a mapping"
    check_config_bounds(kind, name)


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


def check_method(name: str) -> None:
    """Finite logits, determinism, input gradients, and a training run that reloads strictly
    (for a method with a miniature recipe)."""
    cls = METHODS.get(name).cls
    method = cls(smoke_config(cls))
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
    else:  # evaluated from released weights only: the architecture is checked, untrained
        assert cls.releases, f"{name} has neither a miniature recipe nor releases"
    rebuilt.eval()
    x = points[:2].clone().requires_grad_(True)
    if method.stochastic:
        _check_noise_stream(name, rebuilt, method.preprocess(x), embed_dim)
    out = rebuilt(method.preprocess(x))
    assert out.shape == (2, embed_dim) and torch.isfinite(out).all()
    assert torch.equal(out, rebuilt(method.preprocess(x))) or method.stochastic
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


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


def check_attack(name: str) -> None:
    """Budget respected, input untouched, dtype/device kept, randomness only from the generator,
    a zero budget changes nothing, and every query of a stochastic victim averages its draws."""
    cls = ATTACKS.get(name).cls
    attack = cls(smoke_config(cls))
    victim = ToyVictim(seed=0)
    points, labels = toy_clouds(4, 128, seed=1)
    original = points.clone()
    torch.manual_seed(123)
    first = attack.run(victim, points, labels, torch.Generator().manual_seed(7))
    assert torch.equal(points, original), f"{name} mutated its input"
    assert first.points.dtype == points.dtype and first.points.device == points.device
    check_threat_model(attack.threat_model(), points, first.points)
    torch.manual_seed(456)
    second = attack.run(victim, points, labels, torch.Generator().manual_seed(7))
    assert torch.equal(first.points, second.points), (
        f"{name} draws randomness outside its generator"
    )
    for key, values in first.stats.items():
        assert values.shape[0] == len(points), f"{name}: stat {key} is not per-sample"
    wide = attack.run(ToyVictim(seed=0).double(), points.double(), labels, torch.Generator())
    assert wide.points.dtype == torch.float64, f"{name} does not keep float64 clouds"
    check_threat_model(attack.threat_model(), points.double(), wide.points)
    _check_zero_budget(name, attack, points, labels)
    _check_eot(name, attack, points, labels)
    _check_batch_invariance(name, attack, points, labels)


def _check_zero_budget(name: str, attack: Any, points: torch.Tensor, labels: torch.Tensor) -> None:
    """eps = 0 or steps = 0 returns the clean clouds, for attacks that keep the point count."""
    threat = attack.threat_model()
    if threat.points_added or threat.points_dropped:
        return
    names = {f.name for f in dataclasses.fields(attack.config)}
    for field_name in ("eps", "steps"):
        if field_name not in names:
            continue
        quiet = type(attack)(dataclasses.replace(attack.config, **{field_name: 0}))
        out = quiet.run(ToyVictim(seed=0), points, labels, torch.Generator().manual_seed(7))
        assert torch.equal(out.points, points), f"{name} with {field_name}=0 changed the clouds"


class _RecordingVictim(ToyVictim):
    """A stochastic toy victim that records how many draws every query asked for."""

    def __init__(self) -> None:
        super().__init__(seed=0, input_noise=0.05)
        self.draws_seen: list[int] = []

    def sample(self, points: torch.Tensor, draws: int) -> torch.Tensor:
        self.draws_seen.append(draws)
        return super().sample(points, draws)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        self.draws_seen.append(1)
        return super().forward(points)


def _check_eot(name: str, attack: Any, points: torch.Tensor, labels: torch.Tensor) -> None:
    """Against a stochastic victim, an attack that queries it averages `eot_draws` draws on
    every query; one that ignores EOT follows single noise draws and overstates robustness."""
    if attack.access not in ("gradient", "scores"):
        return
    names = {f.name for f in dataclasses.fields(attack.config)}
    assert "eot_draws" in names, (
        f"{name} queries the victim but has no eot_draws setting: against a stochastic victim"
        " it would follow single noise draws"
    )
    victim = _RecordingVictim()
    eot = type(attack)(dataclasses.replace(attack.config, eot_draws=3))
    eot.run(victim, points, labels, torch.Generator().manual_seed(7))
    assert victim.draws_seen, f"{name} never queried the victim"
    assert set(victim.draws_seen) == {3}, (
        f"{name} asked for {sorted(set(victim.draws_seen))} draws with eot_draws=3: every query"
        " of a stochastic victim must average the configured draws (use victim.sample)"
    )


def _check_batch_invariance(
    name: str, attack: Any, points: torch.Tensor, labels: torch.Tensor
) -> None:
    """With per-sample streams, a sample's adversarial cloud is the same alone or in a batch,
    against a deterministic and against a stochastic victim."""
    ids = [f"sample {i}" for i in range(len(points))]
    for victim in (ToyVictim(seed=0), ToyVictim(seed=0, input_noise=0.05)):
        outputs = []
        for part in (slice(None), slice(2, None)):
            victim.bind(SampleStreams.for_samples(0, ids[part], "victim"))
            streams = SampleStreams.for_samples(0, ids[part], "attack")
            outputs.append(attack.run(victim, points[part], labels[part], streams).points)
        victim.bind(None)
        assert torch.allclose(outputs[0][2:], outputs[1], atol=1e-5), (
            f"{name}: a sample's result depends on its batch (draw through"
            " bench.contracts.randomness with the generator you are given)"
        )


# Datasets read from files, and the writer of a stand-in in their published layout (each takes
# the folder and a `points` keyword).
STAND_INS: dict[str, Callable[..., Path]] = {
    "modelnet40": write_modelnet40_h5,
    "scanobjectnn": write_scanobjectnn_h5,
    "objaverse_lvis": write_objaverse_lvis_openshape,
    "shapenet55": write_shapenet55_ulip,
}


def check_dataset(name: str) -> None:
    """Deterministic loads, labels in range, unique ids, a stable fingerprint; a dataset read
    from files is checked on a stand-in written in its published layout."""
    cls = DATASETS.get(name).cls
    config = smoke_config(cls)
    if name in STAND_INS:
        with tempfile.TemporaryDirectory() as directory:
            root = STAND_INS[name](Path(directory), points=64)
            _check_dataset_loads(name, cls, dataclasses.replace(config, root=str(root)))
        return
    _check_dataset_loads(name, cls, config)


def _check_dataset_loads(name: str, cls: Any, config: Any) -> None:
    first = cls(config).load("test")
    second = cls(config).load("test")
    validate_clouds(first.points, name)
    assert np.array_equal(first.points, second.points) and first.fingerprint == second.fingerprint
    assert first.labels.min() >= 0 and first.labels.max() < len(first.class_names)
    assert len(set(first.ids)) == len(first.ids) == len(first)
    assert first.fingerprint == fingerprint_arrays(
        first.points, first.labels, first.class_names, first.captions
    )
    if first.captions is not None:
        assert len(first.captions) == len(first) and all(first.captions)


def check_defense(name: str) -> None:
    """Batch and channels kept, finite, input untouched; deterministic unless randomized, and
    then reproducible from its generator and batch-invariant with per-sample streams; a usable
    gradient (its own, or its BPDA surrogate's)."""
    cls = DEFENSES.get(name).cls
    defense = cls(smoke_config(cls))
    points, _ = toy_clouds(4, 256, seed=2)
    original = points.clone()
    out = defense.apply(points, torch.Generator().manual_seed(0))
    assert torch.equal(points, original), f"{name} mutated its input"
    assert out.shape[0] == points.shape[0] and out.shape[-1] == points.shape[-1]
    assert out.dtype == points.dtype and torch.isfinite(out).all()
    again = defense.apply(points, torch.Generator().manual_seed(0))
    assert torch.equal(out, again), f"{name} draws randomness outside its generator"
    if not cls.randomized:
        assert torch.equal(out, defense.apply(points, torch.Generator().manual_seed(1)))
    ids = [f"sample {i}" for i in range(len(points))]
    whole = defense.apply(points, SampleStreams.for_samples(0, ids, "victim"))
    part = defense.apply(points[2:], SampleStreams.for_samples(0, ids[2:], "victim"))
    assert torch.equal(whole[2:], part), f"{name}: a cloud's defense depends on its batch"
    victim = ToyVictim(seed=0, defense=defense)
    x = points.clone().requires_grad_(True)
    victim.sample(x, 3 if victim.stochastic else 1).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0, f"{name} gives attacks no gradient (declare a surrogate)"


def check_text_encoder(name: str) -> None:
    """Finite embeddings of a fixed width, deterministic, with a weights-bound identity."""
    cls = TEXT_ENCODERS.get(name).cls
    if name in TEXT_STAND_INS:  # reads a published file: checked on a stand-in of it
        with tempfile.TemporaryDirectory() as directory:
            _check_text_encoder(name, TEXT_STAND_INS[name](cls, Path(directory)))
        return
    _check_text_encoder(name, cls(smoke_config(cls)))


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


def _check_text_encoder(name: str, encoder: Any) -> None:
    published = encoder.published_class_embeddings(["chair", "airplane"])
    if published is not None:  # a file of class embeddings: no texts to embed
        assert published.shape[0] == 2 and np.allclose(np.linalg.norm(published, axis=1), 1)
        assert encoder.identity().startswith(name)
        return
    texts = ["a point cloud model of chair.", "a point cloud model of airplane."]
    first = encoder.encode(texts)
    assert first.ndim == 2 and first.shape[0] == 2 and np.isfinite(first).all()
    assert np.allclose(first, encoder.encode(texts), atol=1e-6)
    assert encoder.identity().startswith(name)


KIND_CHECKS = {
    "methods": check_method,
    "attacks": check_attack,
    "datasets": check_dataset,
    "defenses": check_defense,
    "text_encoders": check_text_encoder,
}
