"""Registry rules: validation, duplicates, hints, failures, and third-party entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.contracts.errors import UnknownPluginError
from bench.contracts.plugins import ATTACKS, METHODS, REGISTRIES, Attack, Method, PluginInfo
from bench.testing.conformance import smoke_flags


@dataclass(frozen=True)
class _Config:
    eps: float = 0.1


def _attack_class(doc: str = "A throwaway attack.") -> type:
    class Throwaway(Attack[_Config]):
        Config = _Config
        version = 1
        info = PluginInfo(display="throwaway", description="for tests")

        def threat_model(self):  # type: ignore[no-untyped-def]
            raise AssertionError

        def run(self, victim, points, labels, generator):  # type: ignore[no-untyped-def]
            raise AssertionError

    Throwaway.__doc__ = doc
    return Throwaway


def test_unknown_name_gets_did_you_mean() -> None:
    with pytest.raises(UnknownPluginError, match=r"Unknown attack 'pdg'\. Did you mean 'pgd'\?"):
        ATTACKS.get("pdg")
    with pytest.raises(KeyError):
        METHODS.get("ulipp")


def test_duplicate_name_is_an_error_naming_both_origins() -> None:
    with ATTACKS.temporary():
        first, second = _attack_class(), _attack_class()
        ATTACKS.register("throwaway")(first)
        ATTACKS.register("throwaway")(first)  # the same object again is fine
        with pytest.raises(ValueError, match="taken twice"):
            ATTACKS.register("throwaway")(second)
    with pytest.raises(UnknownPluginError):
        ATTACKS.get("throwaway")  # temporary() restored the registry


def _entry_points(*pairs: tuple[str, str]) -> Any:
    """A stand-in for `importlib.metadata.entry_points` that finds these attack entry points."""
    import importlib.metadata

    points = [importlib.metadata.EntryPoint(n, v, "bench.attacks") for n, v in pairs]
    return lambda group: [p for p in points if p.group == group]


@pytest.mark.parametrize(
    ("pairs", "first"),
    [
        ([("pgd", "bench_other:PGD")], "builtin:attacks/pgd.py"),
        ([("twin", "pkg_a:Twin"), ("twin", "pkg_b:Twin")], "dist:?"),
    ],
    ids=["shadows-a-builtin", "two-distributions"],
)
def test_a_name_claimed_twice_is_an_error_naming_both_origins(
    monkeypatch: pytest.MonkeyPatch, pairs: list[tuple[str, str]], first: str
) -> None:
    """An entry point may not shadow a built-in, nor another distribution's entry point: the
    name resolves to neither, and `bench list` reports the clash."""
    import importlib.metadata

    from bench.contracts.errors import PluginLoadError

    name = pairs[0][0]
    with ATTACKS.temporary():
        monkeypatch.setattr(importlib.metadata, "entry_points", _entry_points(*pairs))
        ATTACKS._discovered = False
        try:
            with pytest.raises(PluginLoadError, match=f"'{name}' is taken twice: by {first}"):
                ATTACKS.get(name)
            (failure,) = [f for f in ATTACKS.failures() if f.name == name]
            assert first in failure.error and name not in [e.name for e in ATTACKS.entries()]
        finally:
            ATTACKS._discovered = True
    assert ATTACKS.get("pgd").origin == "builtin:attacks/pgd.py"  # restored on exit


@pytest.mark.parametrize(
    ("name", "cls", "message"),
    [
        ("Bad-Name", _attack_class(), "the name must match"),
        ("nodoc", _attack_class(doc=""), "needs a docstring"),
        ("notattack", type("X", (), {"__doc__": "x"}), "must subclass Attack"),
    ],
)
def test_registration_is_validated(name: str, cls: type, message: str) -> None:
    with ATTACKS.temporary(), pytest.raises(TypeError, match=message):
        ATTACKS.register(name)(cls)


def test_unfrozen_or_undefaulted_config_is_rejected() -> None:
    @dataclass
    class Loose:
        eps: float = 0.1

    @dataclass(frozen=True)
    class Undefaulted:
        eps: float

    for config, message in ((Loose, "frozen dataclass"), (Undefaulted, "needs a default")):
        cls = _attack_class()
        cls.Config = config
        with ATTACKS.temporary(), pytest.raises(TypeError, match=message):
            ATTACKS.register("loose")(cls)


def _with(cls: type, **attributes: object) -> type:
    for name, value in attributes.items():
        setattr(cls, name, value)
    return cls


@dataclass(frozen=True)
class _NoTeacher:
    lr: float = 1e-3


def _method_class(config: type = _NoTeacher, **attributes: object) -> type:
    class Throwaway(Method[Any]):
        """A throwaway method."""

        Config = config
        version = 1
        info = PluginInfo(display="throwaway", description="for tests")

        def build_encoder(self, embed_dim):  # type: ignore[no-untyped-def]
            raise AssertionError

        def preprocess(self, points):  # type: ignore[no-untyped-def]
            raise AssertionError

        def train(self, ctx):  # type: ignore[no-untyped-def]
            raise AssertionError

    return _with(Throwaway, **attributes)


@pytest.mark.parametrize(
    ("registry", "cls", "message"),
    [
        (METHODS, _method_class(), "needs the teacher fields text_encoder, templates, logit_scale"),
        (ATTACKS, _with(_attack_class(), access="magic"), "its access 'magic' is none of"),
        (ATTACKS, _with(_attack_class(), runtime_fields=frozenset({"device"})), "not Config"),
        (ATTACKS, _with(_attack_class(), presets={"paper": {"eps": 1}}), "preset 'paper'"),
        (ATTACKS, _with(_attack_class(), members=lambda self: []), "must be a property"),
    ],
)
def test_registration_enforces_the_kinds_contract(registry: Any, cls: type, message: str) -> None:
    with registry.temporary(), pytest.raises(TypeError, match=message):
        registry.register("broken")(cls)


def test_every_origin_names_a_file_that_exists() -> None:
    root = Path(__file__).resolve().parent.parent
    for registry in REGISTRIES.values():
        for entry in registry.entries():
            kind, _, where = entry.origin.partition(":")
            if kind == "builtin":
                assert (root / where).is_file(), entry.origin


def test_the_registry_imports_plugin_modules_not_the_generators() -> None:
    code = (
        "import sys; from bench.contracts.plugins import DATASETS; DATASETS.names();"
        "print(sorted(m for m in sys.modules if m.startswith('bench.data.procedural.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


PLUGIN_PACKAGE = '''
"""A third-party package adding an attack and a broken method through entry points."""
from __future__ import annotations
from dataclasses import dataclass
from bench.contracts.bounds import number, require
from bench.contracts.plugins import Attack, PluginInfo, ThreatModel, AttackOutput


@dataclass(frozen=True)
class ShiftConfig:
    eps: float = 0.01

    def __post_init__(self) -> None:
        require(self, "shift", {"eps": number(0, 1)})


class Shift(Attack[ShiftConfig]):
    """Moves every point by +eps along x: a toy third-party attack."""

    Config = ShiftConfig
    version = 3
    access = "random"  # it never looks at the victim
    info = PluginInfo(display="Shift", description="third-party toy attack: shift along x")

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm="linf", eps=self.config.eps)

    def run(self, victim, points, labels, generator) -> AttackOutput:
        moved = points.clone()
        moved[..., 0] += self.config.eps
        return AttackOutput(points=moved)
'''


USE_PLUGINS = """
from bench.testing.conformance import check_attack, check_metadata
from bench.contracts.plugins import METHODS
check_metadata("attacks", "shift")
check_attack("shift")
try:
    METHODS.get("broken")
except Exception as error:
    print(type(error).__name__, error)
"""


def _install_plugin_distribution(tmp_path: Path) -> Path:
    """Build and install a real distribution with entry points into a private site directory."""
    source = tmp_path / "source"
    (source / "bench_shift").mkdir(parents=True)
    (source / "bench_shift" / "__init__.py").write_text(PLUGIN_PACKAGE)
    (source / "bench_shift" / "broken.py").write_text(
        "raise ImportError('missing dependency xyz')\n"
    )
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools"]
            build-backend = "setuptools.build_meta"
            [project]
            name = "bench-shift"
            version = "0.3"
            [project.entry-points."bench.attacks"]
            shift = "bench_shift:Shift"
            [project.entry-points."bench.methods"]
            broken = "bench_shift.broken:Broken"
            """
        )
    )
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return site


def test_third_party_plugin_is_listed_and_runnable(tmp_path: Path) -> None:
    site = _install_plugin_distribution(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(site)}
    listing = subprocess.run(
        [sys.executable, "-m", "bench.cli", "list"], capture_output=True, text=True, env=env
    )
    assert listing.returncode == 0, listing.stderr
    assert "shift" in listing.stdout and "dist:bench-shift==0.3" in listing.stdout
    assert "third-party toy attack" in listing.stdout
    assert "broken" in listing.stdout and "missing dependency xyz" in listing.stdout
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            USE_PLUGINS,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert "PluginLoadError" in run.stdout and "failed to import" in run.stdout
    cell = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cli",
            "run",
            "--wide",
            "--method",
            "ulip",
            "--attack",
            "shift",
            "--set",
            "dataset.test_per_class=1",
            *smoke_flags("methods", "ulip"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert cell.returncode == 0, cell.stderr
    assert "| shift |" in cell.stdout and "| 0.0100 |" in cell.stdout  # L-inf of the shift
    off = subprocess.run(
        [sys.executable, "-m", "bench.cli", "list", "attacks"],
        capture_output=True,
        text=True,
        env={**env, "BENCH_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert "shift" not in off.stdout
