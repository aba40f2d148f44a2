"""A dataset split in memory: clouds, labels, class names, sample ids and a fingerprint."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from bench.contracts.errors import DataError


@dataclass(frozen=True)
class CloudSet:
    """A dataset split as arrays; `fingerprint` changes whenever any sample or label changes.

    Checked when built, so a dataset plugin's mistake is one sentence and never a biased number:
    labels must index `class_names`, ids must be unique, and there must be one label, id (and
    caption) per cloud. Floating-point clouds are stored as float32, what every encoder takes.
    """

    points: np.ndarray  # float32 [M, N, C], C = 3 (xyz) or 6 (xyz + rgb)
    labels: np.ndarray  # int64 [M], indices into class_names
    class_names: tuple[str, ...]
    ids: tuple[str, ...]  # stable sample ids, one per cloud
    fingerprint: str
    image_embeddings: np.ndarray | None = None  # [M, D] teacher image embeddings, when published
    captions: tuple[str, ...] | None = None  # one description per cloud, when the data has them

    def __post_init__(self) -> None:
        points = np.asarray(self.points)
        if points.ndim != 3:
            raise DataError(
                f"The clouds must be an array [clouds, points, channels], not {points.shape}."
            )
        if np.issubdtype(points.dtype, np.floating) and points.dtype != np.float32:
            object.__setattr__(self, "points", points.astype(np.float32))
        labels = np.asarray(self.labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"The labels must be a 1-D integer array, not {labels.dtype} {labels.shape}."
            )
        if labels.dtype != np.int64:
            object.__setattr__(self, "labels", labels.astype(np.int64))
        count = len(points)
        for name, values in (("labels", labels), ("ids", self.ids), ("captions", self.captions)):
            if values is not None and len(values) != count:
                raise DataError(f"The dataset has {count} clouds but {len(values)} {name}.")
        outside = np.flatnonzero((labels < 0) | (labels >= len(self.class_names)))
        if outside.size:
            raise DataError(
                f"{outside.size} label(s) are outside 0..{len(self.class_names) - 1} (the"
                f" {len(self.class_names)} class names); the first is {labels[outside[0]]} at index"
                f" {outside[0]}."
            )
        repeated = [i for i, n in Counter(self.ids).items() if n > 1]
        if repeated:
            raise DataError(
                f"The sample ids are not unique: {repeated[0]!r} appears more than once."
            )
        if len(set(self.class_names)) != len(self.class_names):
            raise DataError("The class names are not unique.")

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, ids: Sequence[str]) -> CloudSet:
        """These samples only, in this order; the fingerprint stays the whole split's, which
        is what they were drawn from. Unknown ids are a DataError."""
        index = {sample: row for row, sample in enumerate(self.ids)}
        missing = [sample for sample in ids if sample not in index]
        if missing:
            raise DataError(f"The data has no sample {missing[0]!r}.")
        rows = np.array([index[sample] for sample in ids], dtype=np.int64)
        return replace(
            self,
            points=self.points[rows],
            labels=self.labels[rows],
            ids=tuple(ids),
            image_embeddings=None if self.image_embeddings is None else self.image_embeddings[rows],
            captions=None if self.captions is None else tuple(self.captions[r] for r in rows),
        )


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
