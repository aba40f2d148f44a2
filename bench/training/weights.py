"""Trained miniature weights, cached by a content hash so a second run loads instead of training.

The key covers the method's resolved config and version, the training data fingerprint and the
teacher (text encoder identity including its weights hash, and the templates). Weights are
stored as safetensors; nothing here unpickles.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from bench.contracts.hashing import sha256_file, sha256_of
from bench.contracts.plugins import DATASETS, Method, TextEncoder
from bench.contracts.runtime import Progress
from bench.storage.atomic import write_bytes_atomic, write_text_atomic
from bench.storage.home import subdir
from bench.training.loop import TrainContext
from bench.training.teacher import teacher_embeddings

TRAINING_DATASET = "procedural40"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainedEncoder:
    """An encoder with trained weights, and where they came from."""

    module: torch.nn.Module
    path: Path
    sha256: str
    trained_now: bool


def obtain_encoder(
    method: Method[Any],
    method_identity: dict[str, Any],
    teacher: TextEncoder[Any],
    device: torch.device,
    progress: Callable[[str], Progress],
    retrain: bool = False,
) -> TrainedEncoder:
    """Load the cached miniature for this recipe, or train and cache it first."""
    data = DATASETS.get(TRAINING_DATASET).cls().load("train")
    embeddings, teacher_identity = teacher_embeddings(
        teacher, method.config.templates, data.class_names
    )
    recipe = {
        **method_identity,
        "config": {
            k: v for k, v in method_identity["config"].items() if k not in method.inference_only
        },
    }
    key = sha256_of(
        {
            "method": recipe,
            "data": {"name": TRAINING_DATASET, "fingerprint": data.fingerprint},
            "teacher": teacher_identity,
            "templates": method.config.templates,
        }
    )
    path = subdir("weights") / method_identity["name"] / f"{key[:16]}.safetensors"
    if path.exists() and not retrain:
        encoder = _load(method, embeddings.shape[1], path, device)
        if encoder is not None:
            return TrainedEncoder(encoder, path, sha256_file(path), trained_now=False)
    ctx = TrainContext(
        data, embeddings.to(device), device, progress(f"train {method_identity['name']}")
    )
    encoder = method.train(ctx).eval()
    state = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    write_bytes_atomic(path, save(state, metadata={"key": key}))
    write_text_atomic(
        path.with_suffix(".json"),
        json.dumps({"key": key, "method": recipe, "teacher": teacher_identity}, indent=1),
    )
    return TrainedEncoder(encoder.to(device), path, sha256_file(path), trained_now=True)


def _load(
    method: Method[Any], embed_dim: int, path: Path, device: torch.device
) -> torch.nn.Module | None:
    """The cached encoder, or None (file set aside) when it is unreadable or does not fit."""
    encoder = method.build_encoder(embed_dim)
    try:
        encoder.load_state_dict(load_file(str(path)), strict=True)
    except Exception as error:  # a truncated or mismatched cache file is retrained, not fatal
        aside = path.with_suffix(".unreadable")
        path.replace(aside)
        log.warning(
            "Cached weights %s are unusable (%s); moved to %s, retraining.", path, error, aside
        )
        return None
    return encoder.to(device).eval()
