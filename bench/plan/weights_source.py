"""Which weights a spec's method entry runs with: `weights`, `checkpoint`, `trust_pickle` and
`training_processes`, read and checked before the method's config is resolved."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.contracts.bounds import PATH, check, integer
from bench.contracts.errors import SpecError
from bench.contracts.plugins import METHODS
from bench.contracts.releases import MINIATURE, Release, release_of

WEIGHTS_KEYS = {"weights", "checkpoint", "trust_pickle", "training_processes"}


@dataclass(frozen=True)
class WeightsSource:
    """Which weights a method entry runs with: the miniature, or a release and its file."""

    release: Release | None = None
    checkpoint: str = ""
    trust_pickle: bool = False
    training_processes: int = 1  # of a miniature trained under torchrun

    @property
    def name(self) -> str:
        return MINIATURE if self.release is None else self.release.name


def weights_source(entry: Mapping[str, Any], where: str) -> WeightsSource:
    """The entry's weights; the miniature unless it names a release."""
    weights = entry.get("weights", MINIATURE)
    checkpoint = entry.get("checkpoint", "") or ""
    trust = entry.get("trust_pickle", False)
    processes = entry.get("training_processes", 1)
    check(processes, integer(1, 4_096), f"{where}: 'training_processes'")
    if not isinstance(weights, str) or not isinstance(checkpoint, str):
        raise SpecError(f"{where}: 'weights' and 'checkpoint' must be text.")
    check(checkpoint, PATH, f"{where}: 'checkpoint'")
    if not isinstance(trust, bool):
        raise SpecError(f"{where}: 'trust_pickle' must be true or false.")
    if not isinstance(entry.get("name"), str):
        return WeightsSource()  # `resolve` says what is wrong with the name
    cls = METHODS.get(entry["name"]).cls
    if weights == MINIATURE:
        if not cls.miniature:
            raise SpecError(
                f"{where}: {entry['name']} has no miniature recipe; it runs from its published"
                f" weights: --weights official (or one of {', '.join(cls.releases)})."
            )
        if checkpoint:
            raise SpecError(f"{where}: a checkpoint is given, but the weights are the miniature.")
        return WeightsSource(training_processes=processes)
    return WeightsSource(release_of(cls.releases, weights, str(entry["name"])), checkpoint, trust)
