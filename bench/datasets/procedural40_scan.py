"""procedural40_scan: procedural40's shapes seen the way a depth scanner sees real objects.

It relates to procedural40 as ScanObjectNN relates to ModelNet40: the same classes and the same
shapes (same seeds), but partial, occluded, noisy and with background points, so accuracy on it
measures robustness to the synthetic-to-real domain shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bench.contracts.errors import ConfigError
from bench.contracts.plugins import DATASETS, PluginInfo
from bench.datasets.procedural40 import (
    SCAN,
    Procedural40,
    Procedural40Config,
    check_float,
    check_int,
)


@dataclass(frozen=True)
class Procedural40ScanConfig(Procedural40Config):
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
        check_int(self, "oversample", 1)
        check_float(self, "elevation_min", 0.0, 89.0)
        check_float(self, "elevation_max", 0.0, 89.0)
        if self.elevation_min > self.elevation_max:
            raise ConfigError("elevation_min must not exceed elevation_max.")
        check_float(self, "view_cell", 1e-3, 0.5)
        check_float(self, "occlusion_prob", 0.0, 1.0)
        check_float(self, "occlusion_max", 0.05, 0.9)
        check_float(self, "jitter", 0.0, 0.2)
        check_float(self, "floor", 0.0, 0.5)
        check_float(self, "clutter", 0.0, 0.5)
        if self.floor + self.clutter > 0.8:
            raise ConfigError(
                "floor + clutter must leave at least 20% of the points to the object."
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
