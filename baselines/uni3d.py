"""Uni3D (Zhou et al., ICLR 2024): EVA transformer blocks on Point-BERT patches, aligned to
OpenCLIP EVA02-E-14-plus. Evaluated from its released weights only (no miniature recipe).

The official preprocessing (`pc_norm`: centre, scale to the unit sphere) is the datasets' own;
clouds stay y-up (no swap), get rgb (0.4 grey where a dataset has none) and keep at most
`num_points` points (10,000 as officially; ScanObjectNN's 2,048 are all kept). Uni3D's
PatchDropout, which its code leaves active at evaluation when configured, is not built: the
released evaluation sets it to 0, so the victim is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bench.contracts.errors import ConfigError
from bench.contracts.plugins import METHODS, Method, PluginInfo
from bench.contracts.releases import (
    UNI3D_LAYOUT,
    PretrainingCorpus,
    PublishedAccuracy,
    Release,
    on_openshape_scanobjectnn,
)

if TYPE_CHECKING:
    import torch

    from bench.contracts.train_context import TrainContext

SIZES = ("ti", "s", "b", "l", "g")


@dataclass(frozen=True)
class Uni3dMethodConfig:
    size: str = "b"
    num_points: int = 10000
    text_encoder: str = "open_clip"
    templates: str = "ulip64"
    logit_scale: float = 100.0

    def __post_init__(self) -> None:
        if self.size not in SIZES:
            raise ConfigError(f"uni3d.size must be one of {', '.join(SIZES)}, not {self.size!r}.")
        if self.num_points < 1 or self.logit_scale <= 0:
            raise ConfigError("uni3d.num_points and uni3d.logit_scale must be positive.")


README = "Uni3D README, model zoo table (top-1)"
EVA_E = ("open_clip", {"model": "EVA02-E-14-plus", "pretrained": "laion2b_s9b_b144k"})
SIZE_ON_HUB = {"ti": "12.8 MB", "s": "45.7 MB", "b": "178 MB", "l": "615 MB", "g": "about 2 GB"}
ENSEMBLED = PretrainingCorpus(
    "Objaverse + ShapeNet + 3D-FUTURE + ABO (OpenShape's), with captions",
    ("shapenet55",),
    open_vocabulary=True,
)
NO_LVIS = PretrainingCorpus(
    "OpenShape's four sets without Objaverse-LVIS shapes, with captions",
    ("shapenet55",),
    open_vocabulary=True,
)


def _release(size: str, lvis: bool, numbers: tuple[float, float, float] | None) -> Release:
    name = f"uni3d-{size}" + ("" if lvis else "-no-lvis")
    published = ()
    if numbers is not None:
        published = (
            PublishedAccuracy("objaverse_lvis", numbers[0], README),
            PublishedAccuracy("modelnet40", numbers[1], README),
            on_openshape_scanobjectnn(numbers[2], README, ", at 2,048 points"),
        )
    return Release(
        name=name,
        config=Uni3dMethodConfig(size=size),
        layout=UNI3D_LAYOUT,
        hub="BAAI/Uni3D",
        file=f"modelzoo/{name}/model.pt",
        size=SIZE_ON_HUB[size],
        embed_dim=1024,
        teacher=EVA_E,
        corpus=ENSEMBLED if lvis else NO_LVIS,
        published=published,
    )


# The README reports no numbers for ti and s. For g it has a second, higher row (55.3, 88.2,
# 65.3) whose link may point at per-benchmark checkpoints; the row below is the plain one.
RELEASES = {
    r.name: r
    for r in (
        _release("b", True, (51.7, 86.3, 63.8)),
        _release("ti", True, None),
        _release("s", True, None),
        _release("l", True, (53.1, 86.3, 58.2)),
        _release("g", True, (53.5, 87.3, 63.9)),
        _release("b", False, (45.9, 86.1, 61.7)),
        _release("l", False, (46.2, 86.6, 58.4)),
        _release("g", False, (47.2, 86.8, 66.5)),
    )
}


@METHODS.register("uni3d")
class Uni3d(Method[Uni3dMethodConfig]):
    """Uni3D's point encoder (five sizes) with its released weights."""

    Config = Uni3dMethodConfig
    version = 1
    miniature = False
    releases = RELEASES
    smoke = Uni3dMethodConfig(size="ti", num_points=1024)
    info = PluginInfo(
        display="Uni3D",
        description="EVA transformer on point patches, from its released weights (ti to g)",
        cite="Zhou et al., Uni3D: Exploring Unified 3D Representation at Scale, ICLR 2024",
        url="https://github.com/baaivision/Uni3D",
    )

    def build_encoder(self, embed_dim: int) -> torch.nn.Module:
        from bench.nn import uni3d

        config = getattr(uni3d, f"UNI3D_{self.config.size.upper()}")
        return uni3d.Uni3dEncoder(replace(config, proj_dim=embed_dim))

    def preprocess(self, points: torch.Tensor) -> torch.Tensor:
        from bench.nn.preprocess import match_channels, match_count

        return match_count(match_channels(points, 6), self.config.num_points)

    def train(self, ctx: TrainContext) -> torch.nn.Module:
        raise ConfigError("uni3d is evaluated from its released weights: --weights official.")
