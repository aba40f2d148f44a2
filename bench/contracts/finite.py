"""Checks that a model's numbers are finite before anything is computed from them.

A model with NaN weights still predicts: argmax over NaN logits is class 0, and a cell stored
from it reads as an ordinary low accuracy. Weights (trained, cached or released), class
embeddings and the logits behind every verdict pass these checks, so such a model fails its
cell with one sentence instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from bench.contracts.errors import NonFiniteError

SHOWN = 3  # tensor names listed before "and N more"


def non_finite_tensors(tensors: Mapping[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors holding a NaN or an infinity."""
    return [
        name
        for name, tensor in tensors.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def require_finite_weights(tensors: Mapping[str, torch.Tensor], what: str, advice: str) -> None:
    """Raise NonFiniteError naming the tensors of `what` that are not finite, and what to do."""
    bad = non_finite_tensors(tensors)
    if bad:
        shown = ", ".join(bad[:SHOWN]) + (
            f" and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
        )
        raise NonFiniteError(
            f"{len(bad)} of the {len(tensors)} tensors of {what} hold NaN or infinite values"
            f" ({shown}); {advice}"
        )


def require_finite(tensor: torch.Tensor, what: str, advice: str) -> None:
    """Raise NonFiniteError if `tensor` holds a NaN or an infinity."""
    if not bool(torch.isfinite(tensor).all()):
        count = int((~torch.isfinite(tensor)).sum())
        raise NonFiniteError(f"{what} hold {count} NaN or infinite values; {advice}")
