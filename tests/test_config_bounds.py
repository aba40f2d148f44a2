"""Absurd config values are one sentence before anything runs, never a raw error inside a cell.

Each case was reproduced against the command line: it passed `--dry-run`, then failed in the
cell with a traceback's last line, trained NaN weights, or hung. Every one now exits with code 2
and one line on stderr from `bench run ... --dry-run`, which builds no model and trains nothing.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.cli import main
from bench.contracts.bounds import (
    LR,
    SEED,
    at_most,
    divides,
    each,
    integer,
    number,
    one_of,
    optional,
    require,
)
from bench.contracts.config import build_config
from bench.contracts.errors import ConfigError, shown
from bench.testing.conformance import unbounded_fields


@dataclass(frozen=True)
class Sizes:
    width: int = 128
    heads: int = 4
    points: int = 64
    groups: int = 8
    widths: tuple[int, ...] = (8, 16)
    lr: float = 1e-3
    step: float | None = None
    mode: str = "a"
    seed: int = 0

    def __post_init__(self) -> None:
        require(
            self,
            "toy",
            {
                "width": integer(1, 1024),
                "heads": (integer(1, 64), divides("width")),
                "points": integer(1, 4096),
                "groups": (integer(1, 4096), at_most("points")),
                "widths": each(integer(1, 1024)),
                "lr": LR,
                "step": optional(number(0, 1, low_open=True)),
                "mode": one_of("a", "b"),
                "seed": SEED,
            },
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("heads", 3, "toy.heads must be a divisor of width (128), not 3."),
        ("heads", 0, "toy.heads must be an integer in [1, 64], not 0."),
        ("groups", 65, "toy.groups must be at most points (64), not 65."),
        ("widths", (8, 0), "toy.widths must be a list of items that are each an integer in"),
        ("lr", 1e30, "toy.lr must be a finite number in (0, 10], not 1e+30."),
        ("lr", 0.0, "toy.lr must be a finite number in (0, 10], not 0.0."),
        ("lr", math.nan, "toy.lr must be a finite number in (0, 10], not nan."),
        ("step", 0.0, "toy.step must be None or a finite number in (0, 1], not 0.0."),
        ("mode", "c", "toy.mode must be one of 'a', 'b', not 'c'."),
        ("seed", 2**32, "toy.seed must be an integer in [0, 4294967295], not 4294967296."),
        ("seed", True, "toy.seed must be an integer in [0, 4294967295], not True."),
        ("width", 1.0, "toy.width must be an integer in [1, 1024], not 1.0."),
    ],
)
def test_a_value_outside_its_rule_is_one_sentence(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Sizes(**{field: value})  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_values_inside_their_rules_pass() -> None:
    Sizes(heads=64, groups=64, lr=10.0, step=1.0, mode="b", seed=2**32 - 1, widths=())


def test_a_long_value_is_clipped_in_the_message() -> None:
    with pytest.raises(ConfigError) as caught:
        Sizes(mode="x" * 20_000)
    message = str(caught.value)
    assert len(message) < 200 and message.endswith("….")
    assert shown("x" * 10) == "'xxxxxxxxxx'" and len(shown("x" * 100)) == 80


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lr": math.nan}, "toy.lr must be a finite number, not nan."),
        ({"lr": -math.inf}, "toy.lr must be a finite number, not -inf."),
        ({"lr": 10**400}, "toy.lr must be a finite number, not 1000"),
        ({"widths": "abc"}, "toy.widths must be a list, not 'abc'."),
    ],
)
def test_typed_values_are_finite(params: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(Sizes, params, "toy")
    assert str(caught.value).startswith(message)


def test_a_fixed_length_tuple_takes_that_many_values() -> None:
    from baselines.ulip import UlipConfig

    with pytest.raises(ConfigError, match=r"ulip.encoder_widths must be a list of 3 values, not 1"):
        build_config(UlipConfig, {"encoder_widths": [1]}, "ulip")
    built = build_config(UlipConfig, {"encoder_widths": [8, 16, 32]}, "ulip")
    assert built.encoder_widths == (8, 16, 32)


RUN = ["run", "--method", "ulip", "--attack", "none", "--dry-run"]
LONG = "x" * 20_000


def refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """The one line `bench` prints for a refused command, after checking it exits with 2."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert captured.out == ""  # no cell was planned, so no line of the dry run either
    return lines[0].removeprefix("error: ")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--set", "method.heads=3"], "ulip.heads must be a divisor of width (128), not 3."),
        (["--set", "method.encoder_widths=[1]"], "ulip.encoder_widths must be a list of 3"),
        (["--set", "method.encoder_widths=[0,8,8]"], "ulip.encoder_widths must be a list of"),
        (["--set", "method.weight_decay=-1"], "ulip.weight_decay must be a finite number in"),
        (["--set", "method.lr=1e30", "--set", "method.epochs=1"], "ulip.lr must be a finite"),
        (["--set", "method.lr=.nan"], "ulip.lr must be a finite number, not nan."),
        (["--set", "method.lr=.inf"], "ulip.lr must be a finite number, not inf."),
        (["--set", "method.epochs=0"], "ulip.epochs must be an integer in [1, 10000], not 0."),
        (["--set", "method.group_size=2000"], "ulip.group_size must be an integer in [1, 1024]"),
        (["--set", "method.logit_scale=0"], "ulip.logit_scale must be a finite number in (0,"),
        (["--seed", "1" * 23], "--seed must be an integer in [0, 4294967295], not 1111"),
        (["--seed", "-1"], "--seed must be an integer in [0, 4294967295], not -1."),
        (["--set", "dataset.seed=" + "9" * 23], "procedural40.seed must be an integer in [0,"),
        (["--set", "text_encoder.device=tpu"], "minilm.device must be a device such as cpu,"),
        (["--set", "text_encoder.device=cuda:x"], "minilm.device must be a device such as"),
        (["--device", "tpu"], "--device must be cpu, cuda or cuda:N, not 'tpu'."),
        (["--device", "cudaX"], "--device must be cpu, cuda or cuda:N, not 'cudaX'."),
        (["--set", "method.templates=" + LONG], "Unknown template set 'xxxx"),
        (["--set", "dataset.root=" + LONG, "--dataset", "modelnet40"], "modelnet40.root must"),
        (["--weights", "official", "--checkpoint", LONG], "'checkpoint' must be a file path"),
    ],
)
def test_each_reproduced_case_is_one_sentence_before_anything_runs(
    capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    line = refused(capsys, [*RUN, *flags])
    assert line.startswith(message) or message in line, line
    assert len(line) < 400  # a 20 kB value is clipped, not echoed


@pytest.mark.parametrize(
    "flags",
    [
        ["--set", "method.templates=" + LONG],
        ["--set", "method." + LONG + "=1"],
        ["--set", "attack." + LONG],
        ["--set", LONG],
        ["--set", "method.lr=[" + "1," * 10_000],
        ["--set", "corpus.split=" + LONG],
        ["--weights", LONG],
        ["--classes", LONG],
    ],
)
def test_a_long_value_is_clipped_to_80_characters(
    capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    line = refused(capsys, [*RUN, *flags])
    assert "x" * 81 not in line and "1," * 41 not in line and "…" in line, line


def test_a_spec_seed_outside_32_bits_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"methods: [ulip]\nattacks: [none]\nseeds: [0, {2**32}]\n")
    line = refused(capsys, ["run", "--spec", str(spec), "--dry-run"])
    assert line.endswith("seeds[1] must be an integer in [0, 4294967295], not 4294967296.")


def test_a_spec_that_is_a_directory_or_too_large_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = refused(capsys, ["run", "--spec", str(tmp_path), "--dry-run"])
    assert line == f"The spec file {tmp_path} is a directory; give a regular file."
    huge = tmp_path / "huge.yaml"
    huge.write_text("# padding\n" * 110_000)  # 1.1 MB of comments
    line = refused(capsys, ["run", "--spec", str(huge), "--dry-run"])
    assert line.endswith("is larger than 1 MiB; is it the right file?")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_spec_that_is_a_named_pipe_is_refused_without_hanging(tmp_path: Path) -> None:
    """Run as a separate process: a regression would block on the pipe, and the timeout ends it."""
    pipe = tmp_path / "spec.yaml"
    os.mkfifo(pipe)
    command = [sys.executable, "-m", "bench.cli", "run", "--spec", str(pipe), "--dry-run"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: The spec file {pipe} is a named pipe; give a regular file."
    ]


def test_values_at_the_bounds_still_plan(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*RUN, "--seed", str(2**32 - 1), "--set", "method.lr=10", "--set", "method.heads=8"]
    argv += ["--set", "method.weight_decay=0", "--set", "dataset.seed=0"]
    argv += ["--set", "dataset.test_per_class=1", "--set", "corpus.train_per_class=1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ulip(heads=8, lr=10.0, weight_decay=0.0)" in out and "(seed 4294967295)" in out


@dataclass(frozen=True)
class Unbounded:
    eps: float = 0.05
    steps: int = 10
    widths: tuple[int, int] = (8, 8)
    step: float | None = None
    name: str = "x"

    def __post_init__(self) -> None:
        if self.eps < 0 or self.steps < 0:  # the usual ad hoc check: a sign, no range
            raise ConfigError("eps and steps must be >= 0.")


def test_the_conformance_suite_finds_fields_without_bounds() -> None:
    accepted = unbounded_fields(Unbounded())
    assert "eps=1e+30" in accepted and "eps=nan" in accepted and "eps=-1e+30" not in accepted
    assert f"steps={2**64}" in accepted and f"widths={(2**64, 2**64)}" in accepted
    assert "step=inf" in accepted and not any(entry.startswith("name=") for entry in accepted)
    assert unbounded_fields(Sizes()) == []
