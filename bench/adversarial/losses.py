"""Attack objectives on logits [E, B, K] of E noise draws (E = 1 for a deterministic victim).

Every loss returns one value per sample [B], averaged over the draws (the EOT expectation), and
is computed in float32 or wider.
"""

from __future__ import annotations

import torch

from bench.contracts.randomness import RandomSource, randint

CONFIDENCE_Z = 1.959964  # two-sided 95% normal quantile, for `fooled`'s Wilson bound


def widen(logits: torch.Tensor) -> torch.Tensor:
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def cross_entropy(logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy [B] toward `classes`, averaged over the draws.

    Computed as softplus(logsumexp_{j != y} z_j - z_y), the same value as
    log-softmax, but accurate where that rounds log(1 + tiny) to exactly 0: at logit scale
    100 every confidently classified cloud, whose loss would then look flat.
    """
    logits = widen(logits)
    index = classes.expand(logits.shape[:-1]).unsqueeze(-1)
    own = logits.gather(-1, index).squeeze(-1)
    rest = logits.scatter(-1, index, float("-inf")).logsumexp(dim=-1)
    return torch.nn.functional.softplus(rest - own).mean(dim=0)


def cross_entropy_direction(
    logits: torch.Tensor, classes: torch.Tensor, targeted: bool
) -> torch.Tensor:
    """d mean CE / d logits [E, B, K] (negated when targeted), up to a positive factor per sample.

    Untargeted, d CE / d z = p - onehot(y) = (1 - p_y) * (w - onehot(y)) with w the softmax of
    the logits with the label's masked out; targeted, the negation with the target's masked.
    Each draw's (1 - p_y) is taken relative to the largest over the draws, in log space, so the
    direction is never all zero, even where a confident victim (logit scale 100) would underflow
    plain autograd's p - onehot(y) to exactly zero; with one draw the factor is exactly 1.
    """
    logits = widen(logits)
    index = classes.expand(logits.shape[:-1]).unsqueeze(-1)
    masked = logits.scatter(-1, index, float("-inf"))
    others = masked.softmax(dim=-1)
    indicator = torch.nn.functional.one_hot(classes, logits.shape[-1]).to(logits.dtype)
    direction = indicator - others if targeted else others - indicator
    log_rest = masked.logsumexp(dim=-1) - logits.logsumexp(dim=-1)  # log(1 - p_y) per draw
    weight = (log_rest - log_rest.amax(dim=0, keepdim=True)).exp()
    return direction * weight.unsqueeze(-1)


def margin(
    logits: torch.Tensor, classes: torch.Tensor, targeted: bool, kappa: float = 0.0
) -> torch.Tensor:
    """The C&W margin the attack minimises [B], floored at -kappa, averaged over the draws.

    Untargeted: z_y - max_{j != y} z_j (negative once misclassified); targeted:
    max_{j != t} z_j - z_t (negative once classified as t).
    """
    logits = widen(logits)
    index = classes.expand(logits.shape[:-1]).unsqueeze(-1)
    own = logits.gather(-1, index).squeeze(-1)
    other = logits.scatter(-1, index, float("-inf")).amax(dim=-1)
    value = other - own if targeted else own - other
    return value.clamp_min(-kappa).mean(dim=0)


def dlr(logits: torch.Tensor, classes: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    """Croce and Hein's difference-of-logits-ratio loss [B] the attack maximises.

    Untargeted: -(z_y - max_{j != y} z_j) / (z_pi1 - z_pi3); targeted toward t:
    -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2), with z_pi the sorted logits. Invariant to
    the logits' scale and shift, so a confident victim's scale cannot mask it.
    """
    logits = widen(logits)
    ordered = logits.sort(dim=-1, descending=True).values
    index = classes.expand(logits.shape[:-1]).unsqueeze(-1)
    own = logits.gather(-1, index).squeeze(-1)
    eps = 1e-12
    if targets is None:
        other = logits.scatter(-1, index, float("-inf")).amax(dim=-1)
        value = -(own - other) / (ordered[..., 0] - ordered[..., 2] + eps)
    else:
        target = logits.gather(-1, targets.expand(logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)
        spread = ordered[..., 0] - (ordered[..., 2] + ordered[..., 3]) / 2
        value = -(own - target) / (spread + eps)
    return value.mean(dim=0)


def fooled(logits: torch.Tensor, classes: torch.Tensor, targeted: bool) -> torch.Tensor:
    """Per-sample success [B]: away from the label, or onto the target, in enough draws.

    One draw decides alone. Of E draws of a stochastic victim, all must be fooled, or a share
    above one half with 95% confidence (Wilson's lower bound): 4 of 4, 8 of 9, 12 of 16. A cloud
    fooled by a bare majority of a step's draws is close to a coin flip, which the fresh vote
    judging the returned cloud often undoes, so an attack that stopped there would return
    borderline examples and overstate robustness.
    """
    predicted = logits.argmax(dim=-1)
    hit = predicted == classes if targeted else predicted != classes
    draws = len(logits)
    if draws == 1:
        return hit[0]
    share = hit.sum(dim=0).double() / draws
    z2 = CONFIDENCE_Z**2
    centre = share + z2 / (2 * draws)
    spread = CONFIDENCE_Z * (share * (1 - share) / draws + z2 / (4 * draws**2)).sqrt()
    return ((centre - spread) / (1 + z2 / draws) > 0.5) | hit.all(dim=0)


def random_targets(labels: torch.Tensor, classes: int, generator: RandomSource) -> torch.Tensor:
    """A uniformly random class other than the label, per sample."""
    offset = 1 + randint(generator, classes - 1, len(labels), device=labels.device)
    return (labels + offset) % classes
