"""Every registered plugin passes the shared conformance checks; no per-plugin test needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.contracts.plugins import REGISTRIES
from bench.plan.spec import resolve
from bench.testing.conformance import KIND_CHECKS, check_metadata

PLUGINS = [(kind, name) for kind, registry in REGISTRIES.items() for name in registry.names()]


@pytest.mark.parametrize(("kind", "name"), PLUGINS, ids=[f"{k}:{n}" for k, n in PLUGINS])
def test_metadata(kind: str, name: str) -> None:
    check_metadata(kind, name)


@pytest.mark.parametrize(("kind", "name"), PLUGINS, ids=[f"{k}:{n}" for k, n in PLUGINS])
def test_behaviour(kind: str, name: str) -> None:
    KIND_CHECKS[kind](name)


def test_no_plugin_failed_to_import() -> None:
    failures = [f for registry in REGISTRIES.values() for f in registry.failures()]
    assert not failures, failures


def test_discovery_does_not_import_torch() -> None:
    """Listing plugins must stay fast: no plugin module may import torch at import time."""
    code = (
        "import sys; from bench.contracts.plugins import REGISTRIES;"
        "[r.entries() for r in REGISTRIES.values()];"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


IDENTITIES = """
import json
from bench.contracts.plugins import REGISTRIES
from bench.plan.spec import resolve
identities = {
    f"{kind}:{name}": resolve(kind[:-1], name, "x")[0].identity()
    for kind, registry in REGISTRIES.items()
    for name in registry.names()
}
print(json.dumps(identities, sort_keys=True))
"""


def test_default_identities_are_stable_across_processes() -> None:
    """Config hashes must not depend on the process (hash seeds, dict order)."""
    runs = [
        subprocess.run(
            [sys.executable, "-c", IDENTITIES],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    here = {
        f"{kind}:{name}": resolve(kind[:-1], name, "x")[0].identity()
        for kind, registry in REGISTRIES.items()
        for name in registry.names()
    }
    assert json.loads(runs[0]) == json.loads(json.dumps(here))
