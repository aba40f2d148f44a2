"""The budget check every adversarial batch passes before it is stored.

Attacks declare a `ThreatModel`; this module verifies the declaration against what the attack
actually returned, so a buggy or over-eager attack cannot publish an out-of-budget number. The
caller compares against its own private copy of the clean batch (an attack that edits the
tensor it was given cannot shrink its measured perturbation), and checks that the given tensor
came back unchanged.

Only the xyz coordinates (first three channels) of the original points may change; their
further channels (rgb) must come back bit-identical. Added points follow the originals and may
be anywhere finite; after a removal, the remaining points must be clean points, none more
often than in the clean cloud; a reordered cloud must be the clean points, each as often.
The tolerance is relative: `clean + delta - clean` differs from `delta` by float rounding,
which grows with the coordinates' magnitude, so the slack is two units in the last place of
each cloud's largest coordinate (2.4e-7 for unit-sphere float32 clouds, 7e-5 for coordinates
of a few hundred, as in millimetres).
"""

from __future__ import annotations

import torch

from bench.contracts.errors import ThreatModelViolation
from bench.contracts.plugins import ThreatModel

L2_RTOL = 1e-5  # relative slack for the L2 ball: rescaling onto the sphere rounds either way
ULPS = 2  # units in the last place of a cloud's largest coordinate allowed per coordinate
LISTED = 8  # sample indices named in a violation message before summarising the rest


def check_threat_model(threat: ThreatModel, clean: torch.Tensor, adversarial: torch.Tensor) -> None:
    """Raise ThreatModelViolation unless `adversarial` [B, M, C] is within `threat` of `clean`."""
    batch, count, channels = clean.shape
    expected = count + threat.points_added - threat.points_dropped
    if adversarial.shape != (batch, expected, channels):
        change = "adds or removes no points"
        if threat.points_added:
            change = f"adds exactly {threat.points_added} points"
        elif threat.points_dropped:
            change = f"removes exactly {threat.points_dropped} points"
        raise ThreatModelViolation(
            f"The adversarial batch has shape {tuple(adversarial.shape)} but the clean batch has"
            f" {tuple(clean.shape)}; this threat model {change}."
        )
    if adversarial.dtype != clean.dtype:
        raise ThreatModelViolation(
            f"The attack returned {adversarial.dtype} clouds for {clean.dtype} input."
        )
    adversarial = adversarial.detach()
    clean = clean.detach().to(adversarial.device)
    _require(~torch.isfinite(adversarial).flatten(1).all(dim=1), "contain NaN or infinite values")
    if threat.points_dropped or threat.reordered:  # same count: a subset is a permutation
        _check_subset(clean, adversarial)
        return
    _check_moves(threat, clean, adversarial[:, :count])


def _check_moves(threat: ThreatModel, clean: torch.Tensor, moved: torch.Tensor) -> None:
    """The original points, in order, moved within the norm (rgb untouched)."""
    change = moved - clean
    if change.shape[-1] > 3:
        extra = change[..., 3:].abs().flatten(1).amax(dim=1)
        _require(extra > 0, "change non-coordinate channels (rgb) by up to", extra)
    xyz = change[..., :3]
    scale = torch.maximum(clean[..., :3].abs(), moved[..., :3].abs()).flatten(1).amax(dim=1)
    slack = ULPS * torch.finfo(clean.dtype).eps * scale.clamp_min(1.0)
    if threat.norm == "none":
        size = xyz.abs().flatten(1).amax(dim=1)
        _require(size > 0, "move original points the threat model keeps fixed, by up to", size)
    elif threat.norm == "linf":
        size = xyz.abs().flatten(1).amax(dim=1)
        _require(
            size > threat.eps + slack,
            f"exceed the linf budget {threat.eps:g} with changes of up to",
            size,
        )
    elif threat.norm == "l2":
        size = xyz.flatten(1).norm(dim=1)
        limit = threat.eps * (1 + L2_RTOL) + slack * xyz[0].numel() ** 0.5
        _require(size > limit, f"exceed the l2 budget {threat.eps:g} with norms of up to", size)
    elif threat.norm == "point_l2":
        size = xyz.norm(dim=-1).amax(dim=1)
        limit = threat.eps * (1 + L2_RTOL) + slack * 3**0.5
        _require(
            size > limit,
            f"move a point farther than the point_l2 budget {threat.eps:g}: up to",
            size,
        )


def _check_subset(clean: torch.Tensor, kept: torch.Tensor) -> None:
    """The remaining points are a sub-multiset of the clean ones, bit for bit, rgb included:
    every kept point is a clean point, and none is kept more often than the clean cloud has
    it (a cloud of one point repeated is not a cloud with points removed)."""
    count = clean.shape[1]
    bad = torch.zeros(len(clean), dtype=torch.bool, device=clean.device)
    for row, (original, remaining) in enumerate(zip(clean, kept, strict=True)):
        _, which = torch.unique(torch.cat([original, remaining]), dim=0, return_inverse=True)
        have = torch.bincount(which[:count], minlength=int(which.max()) + 1)
        need = torch.bincount(which[count:], minlength=len(have))
        bad[row] = bool((need > have).any())
    _require(
        bad,
        "contain points that are not among the clean points, or more copies of a point than"
        " the clean cloud has (only removal is allowed)",
    )


def check_input_unchanged(given: torch.Tensor, private: torch.Tensor) -> None:
    """Raise if an attack modified the batch it was given (it must return new tensors)."""
    if not torch.equal(given, private.to(given.device)):
        raise ThreatModelViolation(
            "The attack modified its input clouds in place; attacks must return new tensors."
        )


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
