"""Trained miniature weights, cached by a content hash so a second run loads instead of training.

The key is the hash of a training identity (`bench.plan.training.Training.identity`):
recipe, training corpus fingerprint, teacher weights and templates, and the seed. Weights are
stored as safetensors; nothing here unpickles.
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load, save

from bench.contracts.errors import UsageError
from bench.contracts.finite import require_finite_weights
from bench.contracts.plugins import Method
from bench.contracts.runtime import no_progress, progress
from bench.contracts.train_context import TrainContext
from bench.storage.atomic import write_text_atomic
from bench.storage.claims import claim
from bench.storage.miniatures import miniature_path
from bench.storage.verified import read_verified, write_verified
from bench.text.embeddings import text_embeddings
from bench.training import distributed
from bench.training.teacher import teacher_embeddings
from bench.training.trained import TrainedEncoder

if TYPE_CHECKING:
    from bench.plan.training import Training

log = logging.getLogger(__name__)


def obtain_encoder(
    training: Training,
    device: torch.device,
    retrain: bool = False,
) -> TrainedEncoder:
    """Load the cached miniature of this training, or train and cache it first (under the key's
    claim, so concurrent cells and drivers train each key once); released weights are loaded.

    The cache key is the hash of `training.identity()`: recipe config and version (without
    inference-only fields), the corpus fingerprint, the teacher's weights identity and templates,
    and the seed, which also seeds training.
    """
    if training.release is not None:
        from bench.training.published import load_release

        return load_release(training, device)
    method = training.method.instantiate()
    if not method.miniature:
        raise UsageError(
            f"{training.method.name} has no miniature recipe: it runs from its published weights"
            f" (--weights official, or one of {', '.join(method.releases)})."
        )
    key = training.key
    data = training.trained_on.load()
    teacher = training.teacher.instantiate()
    embeddings, _ = teacher_embeddings(teacher, method.config.templates, data.class_names)
    path = miniature_path(training.method.name, key)
    world = distributed.current()
    lead = world is None or world.leads
    # One trainer per key: a second process waits here, then loads what the first stored.
    # Processes that train together under torchrun share rank 0's claim and decision.
    with claim(path.with_name(path.name + ".lock")) if lead else nullcontext():
        found = (
            _cached(method, embeddings.shape[1], path, key, device)
            if lead and not retrain
            else None
        )
        if distributed.agree(world, found is not None):
            found = found or _cached(method, embeddings.shape[1], path, key, device)
            assert found is not None, f"{path} vanished while processes were loading it"
            return found
        resume = path.with_suffix(".resume.pt")
        encoder = _train(training, method, data, embeddings, teacher, device, resume, lead)
        state = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
        require_finite_weights(
            state,
            f"the {training.method.name} miniature just trained",
            f"training diverged: lower {training.method.name}'s learning rate (method.lr).",
        )
        digest = ""
        if lead:
            digest = write_verified(path, save(state, metadata={"key": key}), key)
            identity = json.dumps({"key": key, **training.identity()}, indent=1)
            write_text_atomic(path.with_suffix(".json"), identity)
            resume.unlink(missing_ok=True)
        digest = distributed.agree(world, digest)
        return TrainedEncoder(encoder.to(device), path, digest, trained_now=True)


def _cached(
    method: Method[Any], embed_dim: int, path: Path, key: str, device: torch.device
) -> TrainedEncoder | None:
    """The stored miniature of this key, or None when there is none (or it is unusable)."""
    cached = read_verified(path, "trained weights", key)
    encoder = None if cached is None else _load(method, embed_dim, path, cached.data, device)
    if cached is None or encoder is None:
        return None
    return TrainedEncoder(encoder, path, cached.sha256, trained_now=False)


def _train(
    training: Training,
    method: Method[Any],
    data: Any,
    embeddings: torch.Tensor,
    teacher: Any,
    device: torch.device,
    resume: Path,
    lead: bool,
) -> torch.nn.Module:
    """The method trained on its corpus toward these class embeddings (and captions),
    resuming from the state `resume` holds if an interrupted run left one."""
    report = progress(f"train {training.method.name} on {training.corpus.label()}")
    ctx = TrainContext(
        data,
        embeddings.to(device),
        device,
        report if lead else no_progress(""),
        seed=training.seed,
        checkpoint=resume,
    )
    text = training.trained_on.text
    if text != "prompts" and data.captions is not None:
        texts = list(data.captions)
        if text == "named_captions":  # ULIP-2 style: named, then described
            texts = [
                f"a {data.class_names[c]}, {t}" for c, t in zip(data.labels, texts, strict=True)
            ]
        table = sorted(set(texts))
        row = {text: i for i, text in enumerate(table)}
        ctx.caption_ids = torch.tensor([row[text] for text in texts], device=device)
        ctx.caption_embeddings = torch.from_numpy(text_embeddings(teacher, table)).to(device)
    return method.train(ctx).eval()


def weights_path(training: Training) -> Path:
    """Where the miniature of this training is cached."""
    return miniature_path(training.method.name, training.key)


def _load(
    method: Method[Any], embed_dim: int, path: Path, data: bytes, device: torch.device
) -> torch.nn.Module | None:
    """The cached encoder, or None (file set aside) when it is unreadable or does not fit."""
    encoder = method.build_encoder(embed_dim)
    try:
        state = load(data)
        encoder.load_state_dict(state, strict=True)
    except Exception as error:  # a truncated or mismatched cache file is retrained, not fatal
        aside = path.with_suffix(".unreadable")
        path.replace(aside)
        log.warning(
            "Cached weights %s are unusable (%s); moved to %s, retraining.", path, error, aside
        )
        return None
    require_finite_weights(
        state,
        f"the cached miniature {path}",
        "it was saved from a diverged training: delete it, and lower method.lr if training"
        " diverges again.",
    )
    return encoder.to(device).eval()
