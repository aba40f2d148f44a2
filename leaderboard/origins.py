"""Where a shown result was computed: here, or in a bundle another machine contributed, and
then whether this machine's spot check agreed with it. No torch here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """A contributed record: its bundle and its spot check, or why it has none."""

    bundle: str
    agreed: int = 0
    compared: int = 0
    unverified: str = ""  # why no spot check vouches for it; empty when one does

    @property
    def verified(self) -> bool:
        return not self.unverified and self.compared > 0 and self.agreed == self.compared

    def text(self) -> str:
        if self.unverified:
            return f"contributed in {self.bundle}: unverified ({self.unverified})"
        return (
            f"contributed in {self.bundle}: spot-checked here,"
            f" {self.agreed} of {self.compared} samples agree"
        )


def badge(origins: Iterable[Origin | None]) -> str:
    """What an entry made of these records says beside its name: "" when all were computed
    here, else "unverified" if any contributed record is, else "contributed, spot-checked"."""
    found = [origin for origin in origins if origin is not None]
    if not found:
        return ""
    return "contributed, spot-checked" if all(o.verified for o in found) else "unverified"
