"""Fuzzing what users type and read: random spec files, argument lists and public dataset files
give a result or one sentence.

Seeded, so a failure reproduces. Specs are built from the spec vocabulary (keys, plugin names,
parameters) mixed with junk values, so many get deep into expansion; random bytes cover files
that are not YAML at all. Every outcome must be cells or a `BenchError`: never another
exception, which would reach the user as a traceback. Dataset files are written for real in
their published layouts with arrays of random rank, extents, dtype and values; a file that loads
must give back exactly what was written (centred and scaled), never a reshaped, cut or cast copy.
Stored records and saved batches, edited at random, are served with exactly the numbers they
were written with or set aside.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import pickle
import random
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import yaml

from bench.cli import main
from bench.contracts.accuracy import correct
from bench.contracts.cloudset import CloudSet
from bench.contracts.config import config_to_dict
from bench.contracts.errors import BenchError, StoreError
from bench.contracts.hashing import sha256_of
from bench.contracts.plugins import REGISTRIES, ThreatModel
from bench.data.public_files import unit_sphere
from bench.datasets.modelnet40 import ModelNet40, ModelNet40Config
from bench.datasets.objaverse_lvis import ObjaverseLvis, ObjaverseLvisConfig
from bench.datasets.shapenet55 import ShapeNet55, ShapeNet55Config
from bench.evaluation.summary import by_member, generalised, summarize
from bench.plan.spec import load_spec, resolve
from bench.storage.partial import PartialResults, SavedBatches
from bench.storage.record import Record
from bench.storage.store import Store
from bench.storage.validation import DERIVED, GENERALISED, same
from bench.testing.conformance import smoke_flags
from bench.testing.public_formats import (
    write_modelnet40_h5,
    write_modelnet40_ulip,
    write_objaverse_lvis_openshape,
    write_shapenet55_ulip,
)
from bench.testing.records import saved_batches
from leaderboard.compare import all_pairs
from leaderboard.indicators import cross_cell_warnings
from leaderboard.tables import rows, to_csv, to_markdown, to_markdown_wide
from leaderboard.tracks import tracks

KEYS = ["name", "description", "methods", "datasets", "attacks", "defenses", "seeds"]
KEYS += ["teachers", "corpus", "params", "sweep", "preset", "classes", "split", "text", "bogus"]
NAMES = ["ulip", "pgd", "none", "procedural40", "minilm", "standard", "unseen", "all", "x"]
PARAMS = ["eps", "steps", "norm", "test_per_class", "points", "epochs", "text_encoder", "k"]
JUNK: list[Any] = [None, True, 0, 1, 2, -1, 1.5, float("nan"), "", "a", [], {}, [1], {"a": 1}]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return rng.choice([*JUNK, *NAMES])
    if roll < 0.6:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    keys = rng.sample(KEYS + PARAMS, rng.randint(0, 4))
    return {key: random_value(rng, depth + 1) for key in keys}


def random_spec(rng: random.Random) -> Any:
    """A spec-shaped document: a valid one with a few random edits, at the top or in an entry."""
    spec: dict[str, Any] = {
        "methods": [{"name": "ulip", "params": {"num_points": 64, "num_groups": 4}}],
        "datasets": [{"name": "procedural40", "params": {"test_per_class": 1, "points": 32}}],
        "attacks": [rng.choice(["none", "pgd", {"name": "pgd", "sweep": {"eps": [0.1]}}])],
    }
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        where = rng.choice(["top", "entry", "params", "sweep"])
        if where == "top":
            spec[rng.choice(KEYS)] = random_value(rng)
            continue
        kind = rng.choice(["methods", "datasets", "attacks", "corpus"])
        entries = spec.setdefault(kind, [{"name": "procedural40"}])
        if not isinstance(entries, list) or not entries:
            continue
        entry = entries[0] if isinstance(entries[0], dict) else {"name": entries[0]}
        entries[0] = entry
        if where == "entry":
            entry[rng.choice(KEYS)] = random_value(rng)
        else:
            block = entry.setdefault(where, {})
            if isinstance(block, dict):
                value = random_value(rng)
                block[rng.choice(PARAMS)] = [value] if where == "sweep" else value
    if rng.random() < 0.1:
        return random_value(rng)
    return spec


@pytest.mark.parametrize("chunk", range(4))
def test_random_spec_files_give_cells_or_one_sentence(tmp_path: Path, chunk: int) -> None:
    rng = random.Random(chunk)
    path = tmp_path / "spec.yaml"
    outcomes = {"cells": 0, "refused": 0}
    for _ in range(400):
        if rng.random() < 0.15:
            path.write_bytes(rng.randbytes(rng.randint(0, 64)))
        else:
            path.write_text(yaml.safe_dump(random_spec(rng)))
        try:
            load_spec(path)
            outcomes["cells"] += 1
        except BenchError as error:
            message = str(error)
            assert message and "\n" not in message, message
            outcomes["refused"] += 1
    assert outcomes["cells"] > 0 and outcomes["refused"] > 0  # the fuzz reaches both sides


FLAGS = ["--method", "--attack", "--dataset", "--classes", "--defense", "--preset", "--seed"]
FLAGS += ["--spec", "--set", "--device", "--batch-size", "--format", "--layout", "--outcome"]
VALUES = ["ulip", "pgd", "none", "0", "-3", "x", "attack.eps=abc", "method.x=1", "cpu", "tpu"]
VALUES += ["comparison", "json", "wide", "robust", "=", ".", "", "attack.=1", "corpus.classes=1"]
VALUES += ["method.lr=1e30", "method.lr=.nan", "method.heads=3", "1" * 23, "cuda:x"]
VALUES += ["text_encoder.device=tpu", "method.encoder_widths=[1]", "dataset.seed=-1"]


@pytest.mark.parametrize("chunk", range(2))
def test_random_command_lines_give_a_result_or_one_sentence(tmp_path: Path, chunk: int) -> None:
    rng = random.Random(100 + chunk)
    (tmp_path / "home").mkdir()
    codes = []
    for _ in range(400):
        command = rng.choice(["run"] * 5 + ["results", "results", "compare", "list", "train"])
        args = [command]
        if command == "run":  # mostly a real cell, so expansion is reached
            args += ["--method", rng.choice(["ulip", "ulip", "x"])]
            args += ["--attack", rng.choice(["pgd", "none", "x"]), "--dry-run"]
            args += ["--set", "dataset.test_per_class=1"]
        for _ in range(rng.randint(0, 3)):
            args += [rng.choice(FLAGS), rng.choice(VALUES)]
        if command == "train":
            args.append("--help")  # never train in a fuzz test
        args = ["--home", str(tmp_path / "home"), *args]
        stderr = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            try:
                code = main(args)
            except SystemExit as exit:  # argparse: usage errors and --help
                code = exit.code if isinstance(exit.code, int) else 2
        assert code in (0, 1, 2), (args, stderr.getvalue())
        assert "Traceback" not in stderr.getvalue(), args
        codes.append(code)
    assert codes.count(0) > 10 and codes.count(2) > 10  # both sides are reached


ABSURD: list[Any] = [0, -1, 3, 2**32, 10**23, -(10**23), 0.0, -1.0, 1e30, -1e30, 1e-300]
ABSURD += [float("nan"), float("inf"), "", "tpu", "x" * 20_000, [1], [0, 0, 0], None, True]


def sane(value: Any) -> bool:
    """A value no config should hold: a non-finite or astronomically large number."""
    if isinstance(value, list):
        return all(sane(item) for item in value)
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= 1e6
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) < 2**32
    return True


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_random_config_values_give_a_sane_config_or_one_sentence(kind: str) -> None:
    """Edge values in random fields of every plugin's config, as a spec or `--set` gives them:
    each is a config holding only sane numbers, or one short sentence."""
    rng = random.Random(kind)
    outcomes = {"configs": 0, "refused": 0}
    for name in REGISTRIES[kind].names():
        fields = [f.name for f in dataclasses.fields(REGISTRIES[kind].get(name).cls.Config)]
        for _ in range(40 if fields else 0):
            chosen = rng.sample(fields, rng.randint(1, min(3, len(fields))))
            params = {field: rng.choice(ABSURD) for field in chosen}
            try:
                choice = resolve(kind[:-1], {"name": name, "params": params}, "the fuzz")[0]
            except BenchError as error:
                message = str(error)
                assert message and "\n" not in message and len(message) < 600, message
                outcomes["refused"] += 1
                continue
            config = config_to_dict(choice.config)
            assert all(sane(value) for value in config.values()), (name, config)
            outcomes["configs"] += 1
    assert outcomes["configs"] > 0 and outcomes["refused"] > 0  # the fuzz reaches both sides


def test_random_non_finite_weights_and_clouds_never_give_a_verdict() -> None:
    """NaN and infinities at random places in a victim's weights or its clouds: every vote is
    the argmax of finite logits, or a NonFiniteError / DataError; never argmax over NaN."""
    import torch

    from bench.contracts.clouds import validate_clouds
    from bench.testing.toys import ToyVictim, toy_clouds

    rng = random.Random(7)
    clean_victim = ToyVictim()
    outcomes = {"verdicts": 0, "refused": 0}
    for trial in range(150):
        victim = ToyVictim()
        victim.load_state_dict(clean_victim.state_dict())
        points, _ = toy_clouds(3, 24, seed=trial)
        bad = rng.choice([float("nan"), float("inf"), float("-inf")])
        where = rng.choice(["weights", "clouds", "none"])
        with torch.no_grad():
            if where == "weights":
                tensor = rng.choice(list(victim.encoder.parameters()))
                tensor.view(-1)[rng.randrange(tensor.numel())] = bad
            elif where == "clouds":
                points[rng.randrange(3), rng.randrange(24), rng.randrange(3)] = bad
        try:
            validate_clouds(points.numpy(), "the fuzzed clouds")
            verdict = victim.vote(points, 1)
        except BenchError as error:
            assert str(error) and "\n" not in str(error)
            outcomes["refused"] += 1
            continue
        with torch.no_grad():
            logits = victim(points)
        assert torch.isfinite(logits).all(), (trial, where)
        assert torch.equal(verdict, logits.argmax(dim=-1))
        outcomes["verdicts"] += 1
    assert outcomes["verdicts"] > 20 and outcomes["refused"] > 20


DTYPES = ["float64", "float16", "int32", "uint8", "bool", "complex64", "S4"]
EXTENTS = [0, 1, 2, 3, 3, 4, 6, 16]


def random_array(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Often `shape` in float32; else random rank and extents, or another dtype; now and then a
    NaN or infinity."""
    if rng.random() < 0.3:
        shape = tuple(int(e) for e in rng.choice(EXTENTS, size=rng.integers(0, 5)))
    dtype = str(rng.choice(DTYPES)) if rng.random() < 0.3 else "float32"
    values = rng.uniform(-2, 2, shape)
    if values.size and rng.random() < 0.1:
        values.flat[rng.integers(values.size)] = rng.choice([np.nan, np.inf])
    if dtype in ("int32", "uint8", "bool"):
        return rng.integers(0, 2, shape).astype(dtype)
    return values.astype(dtype)


def arrays_with_one_random(
    rng: np.random.Generator, count: int, shape: tuple[int, ...]
) -> list[np.ndarray]:
    """`count` valid float32 arrays of `shape`, one of them (the file's damage) random."""
    arrays = [rng.uniform(-2, 2, shape).astype(np.float32) for _ in range(count)]
    arrays[rng.integers(count)] = random_array(rng, shape)
    return arrays


def random_labels(rng: np.random.Generator, count: int, classes: int) -> np.ndarray:
    """Class indices, mostly N or N x 1 integers in range; else another shape, floats (whole
    or not), booleans, text, or one index out of range."""
    shape = [(count,), (count, 1), (count, 2), (max(count - 1, 0),), ()][
        rng.choice(5, p=[0.4, 0.4, 0.05, 0.1, 0.05])
    ]
    values = rng.integers(0, classes, shape).astype(np.float64)
    if values.size and rng.random() < 0.1:
        values.flat[rng.integers(values.size)] = rng.choice([-1, classes, 1.5, np.nan])
    kind = rng.choice(["uint8", "int64", "float32", "bool", "S4"], p=[0.4, 0.3, 0.2, 0.05, 0.05])
    if kind in ("uint8", "int64"):
        return np.nan_to_num(values, nan=0).astype(kind)
    return values.astype(kind)


def assert_served_as_written(
    data: CloudSet, clouds: list[np.ndarray], channels: tuple[int, ...], labels: Any = None
) -> None:
    """The loaded set is the written one: same clouds (centred, scaled) and the same labels."""
    assert all(cloud.ndim == 2 and cloud.shape[1] in channels for cloud in clouds)
    expected = unit_sphere(np.stack(clouds)[..., :3].astype(np.float64))
    xyz = data.points[..., :3]
    assert xyz.shape == expected.shape and np.allclose(xyz, expected, atol=1e-5)
    if labels is not None:
        written = np.asarray(labels)
        assert written.shape in ((len(data),), (len(data), 1)), written.shape
        assert np.array_equal(written.reshape(-1), data.labels), (written, data.labels)


def fuzz_modelnet40_h5(rng: np.random.Generator, root: Path) -> None:
    count, points = int(rng.integers(1, 6)), int(rng.integers(1, 20))
    data = random_array(rng, (count, points, 3))
    label = random_labels(rng, count, 40)
    with h5py.File(root / "ply_data_test0.h5", "w") as file:
        file.create_dataset("data", data=data)
        file.create_dataset("label", data=label)
    loaded = ModelNet40(ModelNet40Config(root=str(root))).load("test")
    assert data.dtype.kind == "f" and data.ndim == 3
    assert_served_as_written(loaded, list(data), (3,), label)


NOT_CLOUDS: list[Any] = [{"xyz": 1}, "cloud", 3, None, [[1.0, 2.0, 3.0], [1.0]]]


def fuzz_modelnet40_ulip(rng: np.random.Generator, root: Path) -> None:
    count, points = int(rng.integers(1, 6)), int(rng.integers(1, 20))
    clouds: list[Any] = arrays_with_one_random(rng, count, (points, 6))
    if rng.random() < 0.1:
        clouds[0] = NOT_CLOUDS[rng.integers(len(NOT_CLOUDS))]
    labels = [np.array([label]) for label in random_labels(rng, count, 40).reshape(-1)]
    with (root / "modelnet40_test_8192pts_fps.dat").open("wb") as file:
        pickle.dump([clouds, labels], file)
    loaded = ModelNet40(ModelNet40Config(root=str(root))).load("test")
    assert all(isinstance(c, np.ndarray) and c.dtype.kind == "f" for c in clouds)
    assert_served_as_written(loaded, clouds, (3, 6), labels)


def fuzz_shapenet55(rng: np.random.Generator, root: Path) -> None:
    points = int(rng.integers(1, 20))
    clouds = arrays_with_one_random(rng, 4, (points, 3))
    for name, cloud in zip((root / "test.txt").read_text().split(), clouds, strict=True):
        np.save(root / "shapenet_pc" / name, cloud)
    loaded = ShapeNet55(ShapeNet55Config(root=str(root))).load("test")
    assert all(c.dtype.kind == "f" for c in clouds)
    assert_served_as_written(loaded, clouds, (3,))


def fuzz_objaverse_lvis(rng: np.random.Generator, root: Path) -> None:
    points = int(rng.integers(1, 20))
    paths = [root / e["data_path"] for e in json.loads((root / "split/lvis.json").read_text())]
    arrays = arrays_with_one_random(rng, 2 * len(paths), (points, 3))
    written = []
    for path, xyz, rgb in zip(paths, arrays[::2], arrays[1::2], strict=True):
        content = {"xyz": xyz, "rgb": rgb}
        written.append(content)
        stored = np.empty((), dtype=object)
        stored[()] = content
        np.save(path, stored, allow_pickle=True)
    loaded = ObjaverseLvis(ObjaverseLvisConfig(root=str(root), rgb=True)).load("test")
    assert all(c["xyz"].dtype.kind == "f" for c in written)
    assert_served_as_written(loaded, [c["xyz"] for c in written], (3,))
    colours = np.stack([c["rgb"] for c in written]).astype(np.float64)
    assert np.allclose(loaded.points[..., 3:], colours, atol=1e-6)


PUBLIC_FILES = {
    "modelnet40 h5": (write_modelnet40_h5, fuzz_modelnet40_h5),
    "modelnet40 ulip": (write_modelnet40_ulip, fuzz_modelnet40_ulip),
    "shapenet55 npy": (write_shapenet55_ulip, fuzz_shapenet55),
    "objaverse_lvis npy": (write_objaverse_lvis_openshape, fuzz_objaverse_lvis),
}


@pytest.mark.parametrize("layout", sorted(PUBLIC_FILES))
def test_random_public_files_give_the_written_data_or_one_sentence(
    tmp_path: Path, layout: str
) -> None:
    write, fuzz = PUBLIC_FILES[layout]
    root = write(tmp_path / "data", per_class=1, points=8)
    rng = np.random.default_rng(sorted(PUBLIC_FILES).index(layout))
    outcomes = {"data": 0, "refused": 0}
    for _ in range(120):
        try:
            fuzz(rng, root)
            outcomes["data"] += 1
        except BenchError as error:
            message = str(error)
            assert message and "\n" not in message, message
            outcomes["refused"] += 1
    assert outcomes["data"] > 10 and outcomes["refused"] > 10, outcomes


def rich_record() -> Record:
    """A record with every optional metric (a naive and an unaware run, a step curve, a size
    curve, accuracy after each member of a sequence, seen/unseen accuracies), made by the
    evaluation's own functions from random per-sample outcomes."""
    rng = random.Random(7)
    n, classes = 24, 4
    label = [rng.randrange(classes) for _ in range(n)]

    def predictions(right: float) -> list[int]:
        return [y if rng.random() < right else rng.randrange(classes) for y in label]

    samples: dict[str, list[Any]] = {
        "id": [f"s{i}" for i in range(n)],
        "label": label,
        "clean_pred": predictions(0.85),
        "adv_pred": predictions(0.6),
        "adv_pred_naive": predictions(0.7),
        "adv_pred_unaware": predictions(0.7),
        "l2": [rng.random() for _ in range(n)],
        "success_step": [rng.choice([-1, 0, 1, 2, 3]) for _ in range(n)],
        "fooled_by": [rng.choice([-1, 0, 1]) for _ in range(n)],
        "loss_start": [rng.choice([None, rng.random()]) for _ in range(n)],
    }
    threat = ThreatModel("unbounded", penalised=("l2",))
    metrics = summarize(samples, threat, steps=3)
    metrics["robust_acc_after"] = by_member(samples, [("a", "gradient"), ("b", "scores")])[
        "robust_acc_after"
    ]
    metrics.update(generalised(samples, ("w", "x", "y", "z"), trained={"w", "x"}))
    metrics.update(runs=["adaptive", "naive", "unaware"], threat_model=threat.describe())
    metrics.update(access="gradient", gradient_queries=96, wall_s=1.5, zero_shot=False)
    cell = {
        "method": {"name": "m", "version": 1, "config": {}},
        "attack": {"name": "a", "version": 1, "config": {"steps": 3}},
        "seed": 0,
    }
    labels = {k: k[0] for k in ("method", "teacher", "corpus", "dataset", "attack", "defense")}
    return Record(
        cell_hash=sha256_of(cell),
        cell=cell,
        labels=labels,
        status="ok",
        metrics=metrics,
        samples=samples,
        provenance={
            "finished_at": "2026-01-01T00:00:00+00:00",
            "threat_model": {"norm": "unbounded", "eps": 0.0, "penalised": ["l2"]},
            "plugins": {"method": {"name": "m", "version": 1, "origin": "builtin"}},
        },
    )


@pytest.fixture(scope="module")
def run_record(tmp_path_factory: pytest.TempPathFactory, session_home: Path) -> Record:
    """The record of a real tiny cell (the session's trained miniature and caches)."""
    home = tmp_path_factory.mktemp("fuzz_home")
    for name in ("data", "embeddings", "weights"):
        (session_home / name).mkdir(exist_ok=True)
        (home / name).symlink_to(session_home / name)
    tiny = [*smoke_flags("methods", "ulip"), "--set", "dataset.test_per_class=1"]
    run = ["run", "--method", "ulip", *tiny, "--attack", "pgd", "--set", "attack.steps=2"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--home", str(home), *run]) == 0
    (record,) = Store(home / "store").scan()
    assert isinstance(record, Record) and "robust_acc_by_step" in record.metrics
    return record


REPLACEMENTS: list[Any] = [None, True, False, 0, 1, -1, 0.5, 2.5, 1e300, "", "x", [], {}]
REPLACEMENTS += [[0.25, 0.75], {"a": 1}, math.nan, math.inf, 10**30]


def random_edit(rng: random.Random, data: Any) -> str:
    """The JSON text of `data` with one random edit: a value deleted, replaced by one of another
    type, nudged (a number moved, a flag flipped, a list grown or cut), or the text cut short or
    one character changed."""
    text = json.dumps(data)
    roll = rng.random()
    if roll < 0.05:
        return text[: rng.randrange(len(text))]
    if roll < 0.1:
        at = rng.randrange(len(text))
        return text[:at] + rng.choice('0 9 " , } ] - e . a'.split()) + text[at + 1 :]
    edited = json.loads(text)
    parent, key = rng.choice(list(_places(edited)))
    value = parent[key]
    how = rng.choice(["delete", "replace", "nudge", "nudge"])
    if how == "delete":
        del parent[key]
    elif how == "replace":
        parent[key] = rng.choice(REPLACEMENTS)
    elif isinstance(value, bool):
        parent[key] = not value
    elif isinstance(value, int | float):
        parent[key] = rng.choice([value + 1, value - 1, -value, value + 1e-3, 2 * value, 0])
    elif isinstance(value, str):
        parent[key] = value + "x"
    elif isinstance(value, list):
        parent[key] = value[:-1] if value and rng.random() < 0.5 else [*value, *value[:1]]
    elif isinstance(value, dict):
        parent[key] = {**value, "extra": 1}
    return json.dumps(edited)


def _places(value: Any) -> Any:
    """Every (container, key) of a JSON document, below its top level too."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, inner in list(items):
        yield value, key
        if isinstance(inner, dict | list):
            yield from _places(inner)


def served_numbers(record: Record) -> dict[str, Any]:
    """Every number a record's samples determine, as it would be shown, and the per-sample
    verdicts that paired tests and the leaderboard read."""
    names = [*DERIVED, "robust_acc_by_size", "robust_acc_after"]
    names += [f"{o}_acc_{part}" for o in ("clean", "robust") for part in GENERALISED]
    return {
        **{name: record.metrics.get(name) for name in names},
        "clean": correct(record.samples, "clean").tolist(),
        "robust": record.samples["robust"],
        "threat_model": record.metrics.get("threat_model"),
    }


@pytest.mark.parametrize("source", ["run", "rich"])
def test_random_edits_to_a_record_give_its_numbers_or_set_it_aside(
    source: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Never a crash, never a changed number: an edited record is either served with the
    numbers it was written with (to the store's 1e-9 relative tolerance; the edit was to what
    its samples do not determine, like its provenance, or changed nothing) or set aside in one
    sentence."""
    record = request.getfixturevalue("run_record") if source == "run" else rich_record()
    store = Store(tmp_path / "store")
    path = store.put(record)
    original = json.loads(path.read_text())
    expected = served_numbers(record)
    rng = random.Random(source)
    outcomes = {"served": 0, "set aside": 0}
    for _ in range(250):
        text = random_edit(rng, original)
        path.write_text(text)
        (found,) = store.scan()
        if isinstance(found, Record):
            assert same(served_numbers(found), expected), text
            table = rows([found, record], extra_warnings=cross_cell_warnings([found, record]))
            to_markdown(table), to_markdown_wide(table), to_csv(table)
            tracks([found, record]), all_pairs([found, record])
            outcomes["served"] += 1
        else:
            assert isinstance(found, StoreError) and "next run recomputes its cell" in str(found)
            assert not path.exists()
            path.with_suffix(".unreadable").unlink()
            outcomes["set aside"] += 1
    assert min(outcomes.values()) > 25, outcomes  # both kinds of edit were tried


def test_random_edits_to_saved_batches_resume_exactly_or_not_at_all(tmp_path: Path) -> None:
    """A resumed cell takes its saved batches as they are: they must be what was saved, or
    nothing (set aside; the cell is attacked again and gives the uninterrupted numbers)."""
    record = rich_record()
    saved = saved_batches(record)
    partial = PartialResults(tmp_path / "partial.json", record.cell_hash)
    partial.save(saved)
    original = json.loads(partial.path.read_text())
    rng = random.Random(0)
    outcomes = {"resumed": 0, "set aside": 0}
    for _ in range(300):
        partial.path.write_text(random_edit(rng, original))
        loaded = partial.load()
        if loaded == saved:
            outcomes["resumed"] += 1
        else:
            assert loaded == SavedBatches() and not partial.path.exists()
            outcomes["set aside"] += 1
    assert outcomes["set aside"] > 200, outcomes
