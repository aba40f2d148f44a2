"""EOT against stochastic victims: reproducible noise, averaged gradients, majority verdicts."""

from __future__ import annotations

import pytest
import torch

from attacks.pgd import PGD, PGDConfig
from bench.adversarial.eot import DEFAULT_EOT_DRAWS, attack_draws, naive_variant, resolve_draws
from bench.contracts.errors import ConfigError
from bench.testing.toys import ToyVictim, toy_clouds


def robust_accuracy(victim: ToyVictim, config: PGDConfig, points, labels) -> float:
    victim.reseed(0)
    output = PGD(config).run(victim, points, labels, torch.Generator().manual_seed(0))
    return float((victim.vote(output.points, 9) == labels).float().mean())


def test_noise_comes_from_the_victims_seeded_stream() -> None:
    victim = ToyVictim(0, input_noise=0.1)
    points, _ = toy_clouds(4, 64, seed=1)
    first = victim.sample(points, 3)
    assert first.shape == (3, 4, 5)
    assert not torch.equal(first[0], first[1])
    victim.reseed(0)
    torch.manual_seed(99)  # the global stream plays no part
    assert torch.equal(victim.sample(points, 3), first)


def test_deterministic_victims_take_one_draw() -> None:
    victim = ToyVictim(0)
    points, labels = toy_clouds(4, 64, seed=1)
    assert victim.sample(points, 8).shape == (1, 4, 5)
    assert resolve_draws(8, victim) == 1
    attack = PGD(PGDConfig(eot_draws=8))
    assert attack_draws(attack, victim) == 1 and naive_variant(attack, victim) is None
    plain = PGD(PGDConfig()).run(victim, points, labels, torch.Generator().manual_seed(0))
    eot = attack.run(victim, points, labels, torch.Generator().manual_seed(0))
    assert torch.equal(plain.points, eot.points)
    assert plain.gradient_queries == eot.gradient_queries == 10


def test_automatic_draws_and_the_naive_variant_on_a_stochastic_victim() -> None:
    victim = ToyVictim(0, input_noise=0.1)
    attack = PGD(PGDConfig())
    assert attack_draws(attack, victim) == DEFAULT_EOT_DRAWS
    naive = naive_variant(attack, victim)
    assert naive is not None and naive.config.eot_draws == 1
    assert naive_variant(PGD(PGDConfig(eot_draws=1)), victim) is None
    with pytest.raises(ConfigError, match=r"eot_draws must be an integer in \[0, 10000\]"):
        PGDConfig(eot_draws=-1)


def test_eot_defeats_noise_that_fools_the_naive_attack() -> None:
    """Random input noise blunts single-draw gradients; averaging 16 draws restores the attack."""
    victim = ToyVictim(0, input_noise=0.1)
    points, labels = toy_clouds(200, 128, seed=1)
    naive = robust_accuracy(victim, PGDConfig(eps=0.1, eot_draws=1), points, labels)
    adaptive = robust_accuracy(victim, PGDConfig(eps=0.1, eot_draws=16), points, labels)
    assert adaptive < naive - 0.1, (adaptive, naive)


def test_majority_vote_is_reproducible_and_counts_draws() -> None:
    victim = ToyVictim(0, input_noise=0.1)
    points, _ = toy_clouds(16, 64, seed=2)
    first = victim.vote(points, 9)
    victim.reseed(0)
    assert torch.equal(victim.vote(points, 9), first)
    victim.reseed(0)
    predictions = victim.sample(points, 9).argmax(dim=-1)
    counts = torch.stack([(predictions == c).sum(dim=0) for c in range(5)])
    assert torch.equal(counts.gather(0, first[None])[0], counts.amax(dim=0))


def test_confirmed_successes_make_a_stronger_attack_whose_claims_hold_up() -> None:
    """Against a noisy victim, some step's draws are all fooled by chance: PGD that stops there
    claims successes that a fresh vote undoes. Confirming each claim with a fresh vote keeps
    the attack going on those samples instead."""
    victim = ToyVictim(0, input_noise=0.15)
    points, labels = toy_clouds(150, 96, seed=1)
    right = victim.vote(points, 9) == labels
    points, labels = points[right], labels[right]
    outcomes = {}
    for confirmed in (True, False):
        victim.reseed(0)
        if not confirmed:
            victim.confirm = lambda points, classes, targeted, success: success  # type: ignore
        attack = PGD(PGDConfig(eps=0.05, steps=50, eot_draws=4))
        out = attack.run(victim, points, labels, torch.Generator().manual_seed(0))
        claimed = out.stats["success_step"] >= 0
        fooled = victim.vote(out.points, 9) != labels
        outcomes[confirmed] = (int(fooled.sum()), int((claimed & ~fooled).sum()))
    (fooled, undone), (fooled_plain, undone_plain) = outcomes[True], outcomes[False]
    assert fooled > fooled_plain and undone < 0.6 * undone_plain, outcomes  # 44 > 38, 17 < 32
