"""Where trained miniatures are cached: one file per method and training key.

Torch-free, so that planning (`bench run --dry-run`) can say which cells must train first
without loading torch.
"""

from __future__ import annotations

from pathlib import Path

from bench.storage.home import subdir


def miniature_path(method: str, key: str) -> Path:
    """The cached weights of `method` trained under the training identity `key`."""
    return subdir("weights") / method / f"{key[:16]}.safetensors"


def auxiliary_path(recipe: str, key: str) -> Path:
    """The cached weights of the auxiliary network `recipe` trained under the identity `key`."""
    return subdir("weights") / "auxiliary" / recipe / f"{key[:16]}.safetensors"
