"""What a method's training recipe receives (`Method.train`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from bench.contracts.cloudset import CloudSet
from bench.contracts.runtime import Progress


@dataclass
class TrainContext:
    """What a recipe gets: the training corpus, the teacher's class embeddings, where to run,
    and the seed of everything random in training (initial weights, batches, augmentation).
    """

    data: CloudSet
    class_embeddings: torch.Tensor  # [K, D] unit-norm teacher embeddings of data.class_names
    device: torch.device
    progress: Progress
    seed: int = 0
    # Caption supervision (ULIP-2 / OpenShape style), when the corpus text source has captions:
    # each cloud's row in a table of its corpus's distinct captions, and that table's embeddings.
    caption_ids: torch.Tensor | None = None  # [M] long
    caption_embeddings: torch.Tensor | None = None  # [U, D] unit-norm
    checkpoint: Path | None = None  # where the state after each epoch is kept for resuming
