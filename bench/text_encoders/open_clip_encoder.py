"""OpenCLIP text towers as teachers (ULIP-2, OpenShape, Uni3D distill into them), strictly offline.

Weights come from a local file or from a pretrained tag that is already in the local Hugging Face
(or open_clip URL) cache; nothing is ever downloaded, so a missing file is an error that says
where to get it. open_clip has no text-only constructor, so the full model is built and its
image tower dropped after loading: peak memory is that of the whole model, resident memory
afterwards only that of the text tower.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from bench.contracts.bounds import DEVICE, PATH, require
from bench.contracts.errors import ConfigError, WeightsError
from bench.contracts.plugins import TEXT_ENCODERS, PluginInfo, TextEncoder
from bench.storage.file_hashes import cached_sha256

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

BATCH_SIZE = 256  # bounds activation memory for large towers; results do not depend on it
URL_CACHE = Path("~/.cache/clip")  # where open_clip keeps weights fetched from plain URLs
WEIGHT_SUFFIXES = {".bin", ".pt", ".pth", ".safetensors", ".npz"}


class TextModel(Protocol):
    """What `encode` uses of an open_clip model (open_clip ships no type information)."""

    def encode_text(self, text: torch.Tensor) -> torch.Tensor: ...

    def parameters(self) -> Iterator[torch.nn.Parameter]: ...


@dataclass(frozen=True)
class Weights:
    """Where the weights come from and how the architecture must be adjusted to fit them."""

    path: Path | None  # None: random initialisation
    quick_gelu: bool = False  # the tag was trained with QuickGELU although the config says GELU


@TEXT_ENCODERS.register("open_clip")
class OpenClipText(TextEncoder["OpenClipText.Config"]):
    """The text tower of an OpenCLIP model; `pretrained` is a locally cached tag or a file path."""

    @dataclass(frozen=True)
    class Config:
        model: str = "ViT-B-16"
        pretrained: str = ""  # an open_clip tag such as laion2b_s34b_b88k, or a weights file
        device: str = "cpu"

        def __post_init__(self) -> None:
            require(self, "open_clip", {"pretrained": PATH, "device": DEVICE})

        allow_random: bool = False  # random weights are useless as a teacher; for tests only

    version = 1
    runtime_fields = frozenset({"device"})
    smoke = Config(model="ViT-S-32-alt", allow_random=True)  # a small tower, built offline
    info = PluginInfo(
        display="OpenCLIP text tower",
        description="Text tower of an OpenCLIP model, from local weights only.",
        cite="Cherti et al., Reproducible scaling laws for contrastive language-image learning,"
        " CVPR 2023",
        url="https://github.com/mlfoundations/open_clip",
    )

    def __init__(self, config: OpenClipText.Config | None = None) -> None:
        super().__init__(config)
        self._weights: Weights | None = None
        self._identity: str | None = None
        self._model: Any = None
        self._tokenizer: Any = None

    def identity(self) -> str:
        """Architecture, activation override and weights-file sha256 (hashed once per instance)."""
        if self._identity is None:
            weights = self.weights()
            digest = "random" if weights.path is None else cached_sha256(weights.path)
            arch = self.config.model + ("+quickgelu" if weights.quick_gelu else "")
            self._identity = f"open_clip:{arch}:{digest}"
        return self._identity

    def weights(self) -> Weights:
        """Resolve `pretrained` to a local file without touching the network."""
        if self._weights is None:
            self._weights = self._resolve()
        return self._weights

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        model, tokenizer = self._load()
        device = next(model.parameters()).device
        chunks = []
        with torch.inference_mode():
            for start in range(0, max(len(texts), 1), BATCH_SIZE):  # an empty batch gives [0, D]
                tokens = tokenizer(list(texts[start : start + BATCH_SIZE])).to(device)
                chunks.append(model.encode_text(tokens).float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def _resolve(self) -> Weights:
        model, pretrained = self.config.model, self.config.pretrained
        if not pretrained:
            if self.config.allow_random:
                return Weights(None)
            raise WeightsError(
                f"The open_clip text encoder needs weights for {model}: pass a pretrained tag"
                " or file with --set text_encoder.pretrained=..., random weights are no teacher."
            )
        path = Path(pretrained).expanduser()
        if path.is_file():
            return Weights(path)
        if _looks_like_path(pretrained):
            raise WeightsError(f"The open_clip weights file '{pretrained}' does not exist.")
        _go_offline()
        import open_clip

        tag_cfg = open_clip.get_pretrained_cfg(model, pretrained)
        if not tag_cfg:
            known = ", ".join(open_clip.list_pretrained_tags_by_model(model)) or "none"
            raise ConfigError(
                f"'{pretrained}' is neither a file nor an open_clip pretrained tag of {model}"
                f" (known tags: {known})."
            )
        cached = _cached_file(tag_cfg)
        if cached is None:
            raise WeightsError(
                f"open_clip weights for {model} '{pretrained}' are not available offline;"
                " download them on a machine with access and pass the file with"
                " --set text_encoder.pretrained=/path/to/open_clip_pytorch_model.bin."
            )
        model_cfg = open_clip.get_model_config(model) or {}
        quick_gelu = bool(tag_cfg.get("quick_gelu", False)) and not model_cfg.get("quick_gelu")
        return Weights(cached, quick_gelu)

    def _load(self) -> tuple[TextModel, Any]:
        """Build the model on first use, so hashing and cache hits never pay for torch."""
        if self._model is not None:
            return self._model, self._tokenizer
        weights = self.weights()
        start = time.perf_counter()
        _go_offline()
        import open_clip
        import torch

        device = torch.device(self.config.device)  # its Config admits only names torch knows
        if open_clip.get_model_config(self.config.model) is None:
            raise ConfigError(
                f"Unknown open_clip architecture '{self.config.model}';"
                " see open_clip.list_models() for the names."
            )
        try:
            model = open_clip.create_model(
                self.config.model,
                pretrained=None if weights.path is None else str(weights.path),
                device=device,
                force_quick_gelu=weights.quick_gelu,
                pretrained_image=False,
                pretrained_text=False,
                require_pretrained=weights.path is not None,
            )
            tokenizer = open_clip.get_tokenizer(self.config.model)
        except OSError as error:  # a Hugging Face text config or tokenizer missing from the cache
            raise WeightsError(
                f"open_clip {self.config.model} needs files that are not available offline: {error}"
            ) from error
        if hasattr(model, "visual"):
            del model.visual
        model.eval()
        log.info(
            "Loaded open_clip %s text tower on %s in %.2f s (imports included)",
            self.config.model,
            device,
            time.perf_counter() - start,
        )
        self._model, self._tokenizer = model, tokenizer
        return model, tokenizer


def _go_offline() -> None:
    """The hub libraries read these once, at import: set them before open_clip pulls them in."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _looks_like_path(value: str) -> bool:
    """Tags are bare words; anything with a separator or a weights suffix was meant as a file."""
    return "/" in value or os.sep in value or Path(value).suffix in WEIGHT_SUFFIXES


def _cached_file(tag_cfg: dict[str, Any]) -> Path | None:
    """The tag's weights if a previous download left them in a local cache; never downloads."""
    hub = tag_cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache
        from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

        repo_id, filename = os.path.split(hub)
        filename = filename or HF_WEIGHTS_NAME
        candidates = [filename]
        if filename == HF_WEIGHTS_NAME:
            candidates.insert(0, HF_SAFE_WEIGHTS_NAME)
        elif filename.endswith((".bin", ".pth")):
            candidates.insert(0, filename[:-4] + ".safetensors")
        for name in candidates:
            found = try_to_load_from_cache(repo_id, name)
            if isinstance(found, str):
                return Path(found)
    url = tag_cfg.get("url", "")
    if url:
        path = URL_CACHE.expanduser() / os.path.basename(url)
        if path.is_file():
            return path
    return None
