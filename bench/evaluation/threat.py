"""The budget check every adversarial batch passes before it is stored.

Attacks declare a `ThreatModel`; this module verifies the declaration against what the attack
actually returned, so a buggy or over-eager attack cannot publish an out-of-budget number.
Only the xyz coordinates (first three channels) may change; any further channels (rgb) must
come back bit-identical under every threat model.
"""

from __future__ import annotations

import torch

from bench.contracts.errors import ThreatModelViolation
from bench.contracts.plugins import ThreatModel

L2_RTOL = 1e-5  # relative slack for the L2 ball: rescaling onto the sphere rounds either way
LISTED = 8  # sample indices named in a violation message before summarising the rest


def check_threat_model(
    threat: ThreatModel,
    clean: torch.Tensor,
    adversarial: torch.Tensor,
    *,
    atol: float = 1e-6,
) -> None:
    """Raise ThreatModelViolation unless `adversarial` [B, N, C] is within `threat` of `clean`.

    `atol` absorbs float rounding of `clean + delta - clean`, which is not exactly `delta`.
    """
    if adversarial.shape != clean.shape:
        raise ThreatModelViolation(
            f"The adversarial batch has shape {tuple(adversarial.shape)} but the clean batch has"
            f" {tuple(clean.shape)}; this threat model does not allow adding or removing points."
        )
    adversarial = adversarial.detach()
    change = adversarial - clean.detach().to(adversarial.dtype)
    _require(~torch.isfinite(adversarial).flatten(1).all(dim=1), "contain NaN or infinite values")
    if change.shape[-1] > 3:
        extra = change[..., 3:].abs().flatten(1).amax(dim=1)
        _require(extra > 0, "change non-coordinate channels (rgb) by up to", extra)
    xyz = change[..., :3]
    if threat.norm == "none":
        size = xyz.abs().flatten(1).amax(dim=1)
        _require(size > 0, "change the points of an attack without budget by up to", size)
    elif threat.norm == "linf":
        size = xyz.abs().flatten(1).amax(dim=1)
        limit = threat.eps + atol
        _require(size > limit, f"exceed the linf budget {threat.eps:g} with changes of up to", size)
    elif threat.norm == "l2":
        size = xyz.flatten(1).norm(dim=1)
        limit = threat.eps * (1 + L2_RTOL) + atol
        _require(size > limit, f"exceed the l2 budget {threat.eps:g} with norms of up to", size)
    else:
        raise ValueError(f"Unknown threat-model norm '{threat.norm}'; expected none, linf or l2.")


def _require(bad: torch.Tensor, what: str, size: torch.Tensor | None = None) -> None:
    """Raise naming the offending samples (and their largest `size`), if any sample is bad."""
    if not bool(bad.any()):
        return
    indices = bad.nonzero().flatten().tolist()
    named = ", ".join(str(i) for i in indices[:LISTED])
    if len(indices) > LISTED:
        named += f" and {len(indices) - LISTED} more"
    amount = "" if size is None else f" {float(size[bad].max()):.6g}"
    raise ThreatModelViolation(f"Adversarial samples {named} {what}{amount}.")
