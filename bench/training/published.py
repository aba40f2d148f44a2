"""Released weights, loaded strictly into the method's official encoder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.storage.release_files import release_file
from bench.training.trained import TrainedEncoder

if TYPE_CHECKING:
    import torch

    from bench.plan.training import Training


def load_release(training: Training, device: torch.device) -> TrainedEncoder:
    """The method's official encoder with the release's weights, every tensor accounted for."""
    from bench.nn.checkpoints import load_published

    release = training.release
    assert release is not None, "a miniature has no checkpoint file"
    path = release_file(release, training.checkpoint)
    encoder = training.method.instantiate().build_encoder(release.embed_dim)
    digest = load_published(encoder, path, release.layout, trust_pickle=training.trust_pickle)
    return TrainedEncoder(encoder.float().to(device).eval(), path, digest, trained_now=False)
