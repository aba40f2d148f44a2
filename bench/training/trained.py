"""An encoder with its weights, and where they came from: what training or loading gives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class TrainedEncoder:
    """An encoder with trained weights, and where they came from."""

    module: torch.nn.Module
    path: Path
    sha256: str
    trained_now: bool
