"""The teacher side of a method: unit-norm text embeddings of class names in its CLIP-like space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from bench.contracts.plugins import TextEncoder


def teacher_embeddings(
    encoder: TextEncoder[Any], templates: str, class_names: Sequence[str]
) -> tuple[torch.Tensor, str]:
    """Class embeddings [K, D] from the encoder and template set, plus the encoder's identity."""
    from bench.text.embeddings import class_embeddings

    embeddings = class_embeddings(encoder, list(class_names), templates)
    return torch.from_numpy(embeddings).float(), encoder.identity()
