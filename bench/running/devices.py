"""Whether the device a command asks for exists here.

Asked only where something is computed here: finding out imports torch (seconds), which a run
answered from the store never needs, and a Ray worker may see GPUs its driver's host lacks.
"""

from __future__ import annotations

from bench.contracts.errors import UsageError


def require_device(name: str) -> None:
    """Refuse a CUDA device when torch sees none (the name itself is checked with the flags)."""
    if name == "cpu":
        return
    import torch

    if not torch.cuda.is_available():
        raise UsageError(f"--device {name} asked for CUDA, but torch sees no CUDA device here.")
