"""Trained auxiliary networks (an attack's autoencoder, a defense's upsampler), cached by the
content hash of their training as the miniatures are, under the same claim and verification."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import torch
from safetensors.torch import load, save

from bench.contracts.finite import require_finite_weights
from bench.contracts.runtime import progress
from bench.plan.auxiliary import AuxiliaryTraining
from bench.storage.atomic import write_text_atomic
from bench.storage.claims import claim
from bench.storage.miniatures import auxiliary_path
from bench.storage.verified import read_verified, write_verified

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainedAuxiliary:
    """An auxiliary network with its weights' sha256, and whether it was trained just now."""

    module: torch.nn.Module
    sha256: str
    trained_now: bool


def obtain_auxiliary(training: AuxiliaryTraining, device: torch.device) -> TrainedAuxiliary:
    """Load the cached network of this training, or train and cache it first (one trainer per
    key: a concurrent cell waits on the claim, then loads)."""
    path = auxiliary_path(training.recipe.name, training.key)
    with claim(path.with_name(path.name + ".lock")):
        cached = read_verified(path, "trained auxiliary weights", training.key)
        if cached is not None:
            module = _load(training, cached.data, device)
            if module is not None:
                return TrainedAuxiliary(module, cached.sha256, trained_now=False)
        data = training.corpus.load()
        clouds = torch.as_tensor(data.points[..., :3], dtype=torch.float32)
        report = progress(f"train {training.label()}")
        module = training.recipe.train(clouds, training.seed, device, report).eval()
        state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
        require_finite_weights(
            state,
            f"the {training.recipe.name} network just trained",
            "its training diverged: lower its learning rate.",
        )
        metadata = {"key": training.key, "points": str(clouds.shape[1])}
        digest = write_verified(path, save(state, metadata=metadata), training.key)
        identity = json.dumps({"key": training.key, **training.identity()}, indent=1)
        write_text_atomic(path.with_suffix(".json"), identity)
        return TrainedAuxiliary(module.to(device), digest, trained_now=True)


def _load(training: AuxiliaryTraining, data: bytes, device: torch.device) -> torch.nn.Module | None:
    """The cached network, or None (retrained) when its file does not fit the recipe."""
    try:
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
        module = training.recipe.build(int(header["__metadata__"]["points"]))
        module.load_state_dict(load(data), strict=True)
    except Exception as error:  # a mismatched cache file is retrained, not fatal
        log.warning("Cached %s weights do not fit (%s); retraining.", training.recipe.name, error)
        return None
    return module.to(device).eval()
