"""A dataset split in memory: clouds, labels, class names, sample ids and a fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CloudSet:
    """A dataset split as arrays; `fingerprint` changes whenever any sample or label changes."""

    points: np.ndarray  # float32 [M, N, C], C = 3 (xyz) or 6 (xyz + rgb)
    labels: np.ndarray  # int64 [M], indices into class_names
    class_names: tuple[str, ...]
    ids: tuple[str, ...]  # stable sample ids, one per cloud
    fingerprint: str
    image_embeddings: np.ndarray | None = None  # [M, D] teacher image embeddings, when published
    captions: tuple[str, ...] | None = None  # one description per cloud, when the data has them

    def __len__(self) -> int:
        return len(self.labels)


def fingerprint_arrays(
    points: np.ndarray,
    labels: np.ndarray,
    class_names: tuple[str, ...],
    captions: tuple[str, ...] | None = None,
) -> str:
    """A sha256 over the exact bytes of the data, so two runs can prove they saw the same clouds
    (and, when the data has captions, the same texts)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(points, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    digest.update("\n".join(class_names).encode())
    if captions is not None:
        digest.update(b"\0captions\0" + "\n".join(captions).encode())
    return digest.hexdigest()
