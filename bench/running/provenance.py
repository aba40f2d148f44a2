"""Where a number came from: code version, environment and times, recorded with every cell."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import bench


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """Package version plus git commit and dirty flag of the tree holding `bench` (not the cwd)."""
    tree = Path(bench.__file__).resolve().parent.parent
    toplevel = _git(tree, "rev-parse", "--show-toplevel")
    in_checkout = toplevel is not None and Path(toplevel).resolve() == tree
    commit = _git(tree, "rev-parse", "HEAD") if in_checkout else None
    dirty = _git(tree, "status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "bench_version": bench.__version__,
        "git_commit": commit,
        "git_dirty": bool(dirty) if commit else None,
    }


def environment(device: str) -> dict[str, Any]:
    """Interpreter, torch and device facts that can change numbers."""
    import torch

    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "device": device,
        "threads": torch.get_num_threads(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        facts["gpu"] = torch.cuda.get_device_name(torch.device(device))
        facts["cuda"] = torch.version.cuda
    return facts


def _git(tree: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(tree), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
