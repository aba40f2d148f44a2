"""Fuzzing what users type: random spec files and argument lists give a result or one sentence.

Seeded, so a failure reproduces. Specs are built from the spec vocabulary (keys, plugin names,
parameters) mixed with junk values, so many get deep into expansion; random bytes cover files
that are not YAML at all. Every outcome must be cells or a `BenchError`: never another
exception, which would reach the user as a traceback.
"""

from __future__ import annotations

import contextlib
import io
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.cli import main
from bench.contracts.errors import BenchError
from bench.plan.spec import load_spec

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
