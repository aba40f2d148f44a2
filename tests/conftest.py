"""Test-wide setup: one throwaway home directory for the store and caches of the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches (generated data, text embeddings) are shared by the tests of one session only."""
    home = tmp_path_factory.mktemp("bench_home")
    os.environ["BENCH_HOME"] = str(home)
    return home
