"""Test-wide setup: one throwaway home directory for the store and caches of the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Caches (generated data, text embeddings) are shared by the tests of one session only."""
    home = tmp_path_factory.mktemp("bench_home")
    os.environ["BENCH_HOME"] = str(home)
    return home


@pytest.fixture(scope="module")
def single_thread() -> Iterator[None]:
    """Toy-sized tensors gain nothing from intra-op threads; their barriers stall on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
