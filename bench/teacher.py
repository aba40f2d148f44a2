"""The teacher side of a method: unit-norm text embeddings of class names in its CLIP-like space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from bench.plugins import TEXT_ENCODERS


def teacher_embeddings(method_config: Any, class_names: Sequence[str]) -> tuple[torch.Tensor, str]:
    """Class embeddings [K, D] for the method's text encoder and templates, plus the encoder identity."""
    from bench.text.embeddings import class_embeddings

    encoder = TEXT_ENCODERS.get(method_config.text_encoder).cls()
    embeddings = class_embeddings(encoder, list(class_names), method_config.templates)
    return torch.from_numpy(embeddings).float(), encoder.identity()
