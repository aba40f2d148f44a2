"""Class embeddings published as a file (OpenShape's `*_cat_name_pt_feat.npy`) as a teacher.

OpenShape evaluates with class embeddings it computed once from OpenCLIP ViT-bigG-14 and ships
in its `meta_data`; reading them reproduces its protocol without the 10 GB text tower. They
cover class names only: free texts (captions) need a real text tower.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.contracts.bounds import PATH, require
from bench.contracts.errors import WeightsError
from bench.contracts.plugins import TEXT_ENCODERS, PluginInfo, TextEncoder
from bench.storage.file_hashes import cached_sha256


@TEXT_ENCODERS.register("precomputed")
class PrecomputedText(TextEncoder["PrecomputedText.Config"]):
    """Class embeddings from a published file: a dict of categories or a sorted-class matrix."""

    @dataclass(frozen=True)
    class Config:
        path: str = ""  # e.g. meta_data/modelnet40/cat_name_pt_feat.npy
        allow_pickle: bool = False  # for a file that names code; only from a trusted source
        space: str = ""  # the teacher the file was made with, for tables (e.g. ViT-bigG-14)

        def __post_init__(self) -> None:
            require(self, "precomputed", {"path": PATH})

    version = 1
    runtime_fields = frozenset({"path", "allow_pickle"})  # the file counts by its sha256
    info = PluginInfo(
        display="Published class embeddings",
        description="Class embeddings read from a published file (OpenShape's meta_data).",
        url="https://huggingface.co/datasets/OpenShape/openshape-training-data",
    )

    def identity(self) -> str:
        """The file's sha256: two files of the same name are two teachers."""
        return f"precomputed:{self.config.space or 'unnamed'}:{cached_sha256(self._path())}"

    def encode(self, texts: list[str]) -> np.ndarray:
        raise WeightsError(
            f"The published class embeddings {self.config.path} cover class names only; texts"
            " such as captions need a text tower (text_encoder open_clip)."
        )

    def published_class_embeddings(self, class_names: list[str]) -> np.ndarray:
        from bench.text.embeddings import load_precomputed

        return load_precomputed(self._path(), class_names, allow_pickle=self.config.allow_pickle)

    def _path(self) -> Path:
        if not self.config.path:
            raise WeightsError(
                "The precomputed teacher needs its file: --set text_encoder.path=FILE (OpenShape"
                " publishes them in meta_data.zip of OpenShape/openshape-training-data)."
            )
        path = Path(self.config.path).expanduser()
        if not path.is_file():
            raise WeightsError(f"The precomputed class-embedding file {path} does not exist.")
        return path
