"""The SLIP ViT-B/16 text tower stored inside ULIP-1 checkpoints: ULIP-1's teacher.

ULIP-1 saves its whole model, the text transformer included (CLIP's names: `token_embedding`,
`transformer.resblocks.*`, `ln_final`, `text_projection`), so its zero-shot classifier needs no
other download. The tower is open_clip's CLIP text transformer with QuickGELU (SLIP's), built
without weights and filled from the checkpoint with strict key accounting; tokens are CLIP's BPE,
as ULIP's tokenizer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from bench.contracts.bounds import DEVICE, PATH, require
from bench.contracts.errors import WeightsError
from bench.contracts.plugins import METHODS, TEXT_ENCODERS, Method, PluginInfo, TextEncoder
from bench.contracts.releases import PublishedLayout
from bench.storage.file_hashes import cached_sha256

log = logging.getLogger(__name__)
TEXT_LAYOUT = PublishedLayout(
    "state_dict",
    "module.",
    ("token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection"),
)


@TEXT_ENCODERS.register("ulip_text")
class UlipText(TextEncoder["UlipText.Config"]):
    """The CLIP text tower of a ULIP-1 checkpoint."""

    @dataclass(frozen=True)
    class Config:
        checkpoint: str = ""  # empty: the file of the ULIP release named below, found as weights
        release: str = "ulip1-pointbert"
        trust_pickle: bool = False  # ULIP-1 files pickle their argparse arguments
        model: str = "ViT-B-16-quickgelu"  # the open_clip architecture of the stored tower
        device: str = "cpu"

        def __post_init__(self) -> None:
            require(self, "ulip_text", {"checkpoint": PATH, "device": DEVICE})

    version = 1
    runtime_fields = frozenset({"checkpoint", "trust_pickle", "device"})  # the file: by sha256
    info = PluginInfo(
        display="SLIP ViT-B/16 text (in ULIP-1 checkpoints)",
        description="ULIP-1's teacher: the CLIP text tower stored in its released checkpoint.",
        cite="Mu et al., SLIP: Self-supervision meets Language-Image Pre-training, ECCV 2022",
        url="https://github.com/salesforce/ULIP",
    )

    def __init__(self, config: UlipText.Config | None = None) -> None:
        super().__init__(config)
        self._model: Any = None

    def identity(self) -> str:
        return f"ulip_text:{self.config.model}:{cached_sha256(self._path())}"

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        model, tokenizer = self._load()
        with torch.inference_mode():
            tokens = tokenizer(list(texts)).to(self.config.device)
            return model.encode_text(tokens).float().cpu().numpy()

    def _path(self) -> Path:
        from bench.storage.release_files import release_file

        # The method registry admits Method subclasses only; its entries say just `type`.
        ulip = cast("type[Method[Any]]", METHODS.get("ulip").cls)
        releases = ulip.releases
        if self.config.release not in releases:
            raise WeightsError(
                f"ulip has no release '{self.config.release}' to read a text tower from."
            )
        return release_file(releases[self.config.release], self.config.checkpoint)

    def _load(self) -> tuple[Any, Any]:
        if self._model is not None:
            return self._model
        import open_clip

        from bench.nn.checkpoints import load_published

        path = self._path()
        model = open_clip.create_model(self.config.model, pretrained=None, device="cpu")
        del model.visual
        # The tower's own tensors; logit_scale and the image side stay out of the accounting.
        tower = _TextTower(model)
        load_published(tower, path, TEXT_LAYOUT, trust_pickle=self.config.trust_pickle)
        model.eval().to(self.config.device)
        self._model = (model, open_clip.get_tokenizer(self.config.model))
        return self._model


class _TextTower:
    """The text-tower tensors of an open_clip CLIP, as a module-like view for strict loading."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.model.state_dict().items() if TEXT_LAYOUT.owns(k)}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        missing = [k for k in missing if TEXT_LAYOUT.owns(k)]
        if missing or unexpected:
            raise WeightsError(f"The text tower does not fit: {missing or unexpected}.")
