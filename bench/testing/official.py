"""Checks against the official-code fixtures: a module's state dict equals a published manifest.

The manifests (`<model>.keys.json`) list every tensor of the official module in order, with its
shape and dtype, and the parameter count; a harness encoder built at the official size must
match them exactly so published checkpoints load with strict key accounting.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch


def assert_matches_manifest(model: torch.nn.Module, manifest_path: Path) -> None:
    """Same tensor names, order, shapes and dtypes, and the same parameter count."""
    manifest = json.loads(manifest_path.read_text())
    ours = [
        (key, list(value.shape), str(value.dtype).removeprefix("torch."))
        for key, value in model.state_dict().items()
    ]
    theirs = [(t["name"], t["shape"], t["dtype"]) for t in manifest["tensors"]]
    assert ours == theirs
    assert sum(p.numel() for p in model.parameters()) == manifest["num_parameters"]
