"""procedural40_scan: procedural40's shapes seen the way a depth scanner sees real objects.

It relates to procedural40 as ScanObjectNN relates to ModelNet40: the same classes and the same
shapes (same seeds), but partial, occluded, noisy and with background points, so accuracy on it
measures robustness to the synthetic-to-real domain shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bench.contracts.bounds import at_most, integer, number, require
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import DATASETS, PluginInfo
from bench.datasets.procedural40 import SCAN, Procedural40, Procedural40Config


@dataclass(frozen=True)
class Procedural40ScanConfig(Procedural40Config):
    plugin: ClassVar[str] = "procedural40_scan"
    oversample: int = 8  # dense points per output point before visibility is decided
    elevation_min: float = 5.0  # camera elevation above the horizon, degrees
    elevation_max: float = 50.0
    view_cell: float = 0.06
    occlusion_prob: float = 0.5
    occlusion_max: float = 0.35
    jitter: float = 0.01
    floor: float = 0.12
    clutter: float = 0.08

    def __post_init__(self) -> None:
        super().__post_init__()
        require(
            self,
            self.plugin,
            {
                "oversample": integer(1, 64),
                "elevation_max": number(0, 89),  # degrees above the horizon
                "elevation_min": (number(0, 89), at_most("elevation_max")),
                "view_cell": number(1e-3, 0.5),
                "occlusion_prob": number(0, 1),
                "occlusion_max": number(0.05, 0.9),
                "jitter": number(0, 0.2),
                "floor": number(0, 0.5),
                "clutter": number(0, 0.5),
            },
        )
        if self.floor + self.clutter > 0.8:
            raise ConfigError(
                "procedural40_scan.floor + clutter must be at most 0.8 (the object keeps at least"
                f" 20% of the points), not {self.floor + self.clutter:g}."
            )


@DATASETS.register("procedural40_scan")
class Procedural40Scan(Procedural40):
    """procedural40's shapes as partial single-view scans with occluders, noise and background.

    A zero-shot model trained on clean shapes loses accuracy here, as on ScanObjectNN.
    """

    Config = Procedural40ScanConfig
    info = PluginInfo(
        display="procedural40-scan",
        description="procedural40 shapes as partial, occluded, noisy scans with floor and clutter.",
    )
    name: ClassVar[str] = "procedural40_scan"
    config: Procedural40ScanConfig

    def cloud(self, split: str, label: int, index: int) -> np.ndarray:
        from bench.data.procedural.scan import ScanSettings, simulate_scan

        c = self.config
        settings = ScanSettings(
            (c.elevation_min, c.elevation_max),
            c.view_cell,
            c.occlusion_prob,
            c.occlusion_max,
            c.jitter,
            c.floor,
            c.clutter,
        )
        dense = self.clean(split, label, index, c.points * c.oversample)
        return simulate_scan(dense, self.rng(split, label, index, SCAN), c.points, settings)
