"""APGD, the score-based random search and the noise baseline on the toy victim."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from attacks.apgd import APGD, APGDConfig, _checkpoint, _State, checkpoints, halves
from attacks.noise import Noise, NoiseConfig
from attacks.pgd import PGD, PGDConfig
from attacks.random_search import RandomSearch, RandomSearchConfig, patch_fraction
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import Attack
from bench.evaluation.threat import check_threat_model
from bench.evaluation.victim import ZeroShotVictim
from bench.testing.toys import TOY_CLASSES, ToyVictim, toy_clouds

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def victim() -> ToyVictim:
    return ToyVictim(seed=0)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_clouds(32, 128, seed=5)


def run(
    attack: Attack[Any], victim: ZeroShotVictim, points: torch.Tensor, labels: torch.Tensor
) -> Any:
    return attack.run(victim, points, labels, torch.Generator().manual_seed(0))


def robust(victim: ZeroShotVictim, points: torch.Tensor, labels: torch.Tensor) -> int:
    with torch.no_grad():
        return int((victim(points).argmax(dim=1) == labels).sum())


def predictions(victim: ZeroShotVictim, points: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return victim(points).argmax(dim=1)


class CountingVictim(ToyVictim):
    """The toy victim, counting the clouds it sees and whether any call could give a gradient."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.rows_seen = 0
        self.gradient_possible = False

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        self.rows_seen += len(points)
        self.gradient_possible |= torch.is_grad_enabled() and points.requires_grad
        return super().forward(points)


class UntouchableVictim(ToyVictim):
    """A victim that fails the test if anything queries it."""

    def sample(self, points: torch.Tensor, draws: int) -> torch.Tensor:
        raise AssertionError("the victim was queried")

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        raise AssertionError("the victim was queried")


# APGD


def test_checkpoints_are_the_papers_for_100_steps() -> None:
    assert checkpoints(100) == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    assert checkpoints(20) == [0, 5, 9, 12, 14, 16, 18, 19, 20]
    assert checkpoints(0) == [0]
    for steps in range(1, 300):
        marks = checkpoints(steps)
        assert marks == sorted(set(marks)) and marks[-1] <= steps


def test_step_size_halves_on_either_condition_of_the_paper() -> None:
    interval, rho = 22, 0.75  # 16.5 of 22 steps must raise the loss
    increases = torch.tensor([16, 17, 22, 22, 22])
    halved_last = torch.tensor([True, True, False, True, False])
    best = torch.tensor([2.0, 2.0, 1.0, 1.0, 1.5])
    best_last = torch.tensor([1.0, 1.0, 1.0, 1.0, 1.0])
    halve = halves(increases, interval, rho, halved_last, best, best_last)
    # Too few increases; enough; best loss and step size unchanged; step size just halved;
    # best loss improved.
    assert halve.tolist() == [True, False, True, False, False]


def test_a_halving_sample_restarts_from_its_best_point() -> None:
    count = 2
    shape = (count, 4, 3)
    state = _State(
        rows=torch.arange(count),
        delta=torch.ones(shape),
        previous=torch.zeros(shape),
        gradient=torch.ones(shape),
        step_size=torch.full((count,), 0.1),
        last=torch.zeros(count),
        increases=torch.tensor([2, 22]),
        best_delta=torch.full(shape, 0.5),
        best_gradient=torch.full(shape, -1.0),
        best=torch.tensor([3.0, 3.0]),
        best_last=torch.tensor([1.0, 1.0]),
        halved_last=torch.tensor([False, False]),
    )
    after = _checkpoint(state, 22, 0.75)
    torch.testing.assert_close(after.step_size, torch.tensor([0.05, 0.1]))
    assert torch.equal(after.delta[0], state.best_delta[0])
    assert torch.equal(after.gradient[0], state.best_gradient[0])
    assert torch.equal(after.delta[1], state.delta[1])
    assert after.halved_last.tolist() == [True, False]
    assert after.increases.tolist() == [0, 0] and torch.equal(after.best_last, state.best)


@pytest.mark.parametrize("norm,eps", [("linf", 0.06), ("l2", 0.5)])
def test_apgd_leaves_no_more_clouds_robust_than_pgd(victim, batch, norm, eps) -> None:
    points, labels = batch
    assert robust(victim, points, labels) == len(labels)
    pgd = run(PGD(PGDConfig(norm=norm, eps=eps, steps=20)), victim, points, labels)
    apgd = run(APGD(APGDConfig(norm=norm, eps=eps, steps=20)), victim, points, labels)
    pgd_left, apgd_left = robust(victim, pgd.points, labels), robust(victim, apgd.points, labels)
    assert apgd_left <= pgd_left + 1
    assert apgd_left < len(labels)  # the budget is one where the attacks make progress
    assert apgd.gradient_queries == 20


@pytest.mark.parametrize("norm,eps", [("linf", 0.05), ("l2", 0.3)])
@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_apgd_budget_is_respected_and_reached(victim, batch, norm, eps, loss) -> None:
    points, labels = batch
    original = points.clone()
    apgd = APGD(APGDConfig(norm=norm, eps=eps, steps=10, loss=loss))
    out = run(apgd, victim, points, labels)
    assert torch.equal(points, original)
    check_threat_model(apgd.threat_model(), points, out.points)
    change = (out.points - points).flatten(1)
    size = change.abs().amax(dim=1) if norm == "linf" else change.norm(dim=1)
    standing = out.stats["success_step"] < 0
    assert standing.any()
    if norm == "linf":  # steps of 2 eps: some coordinate always ends on the bound
        torch.testing.assert_close(size[standing], torch.full_like(size[standing], eps))
    else:  # momentum averages two points of the sphere: close to it, maybe inside
        assert (size[standing] > 0.9 * eps).all()


def test_apgd_returns_the_first_misclassified_iterate_else_the_highest_loss(victim, batch) -> None:
    points, labels = batch
    out = run(APGD(APGDConfig(eps=0.06, steps=20)), victim, points, labels)
    step = out.stats["success_step"]
    fooled = predictions(victim, out.points) != labels
    assert torch.equal(fooled, step >= 0) and 0 < int(fooled.sum()) < len(labels)
    assert (out.stats["loss_final"] >= out.stats["loss_start"]).all()  # the clean cloud counts
    assert set(out.stats) == {"loss_start", "loss_final", "success_step"}


def test_apgd_fooled_clouds_leave_the_run(batch) -> None:
    points, labels = batch
    counting = CountingVictim()
    out = run(APGD(APGDConfig(eps=0.08, steps=10)), counting, points, labels)
    step = out.stats["success_step"]
    assert 0 < int((step >= 0).sum()) < len(labels)
    # One clean pass, then iterates 0..a sample's first success, or all 11 if never fooled.
    assert counting.rows_seen == len(labels) + int(torch.where(step >= 0, step + 1, 11).sum())


def test_targeted_dlr_aims_at_the_top_non_label_classes(victim, batch) -> None:
    points, labels = batch
    config = APGDConfig(eps=0.08, steps=20, loss="dlr", targeted=True, target_classes=1)
    out = run(APGD(config), victim, points, labels)
    with torch.no_grad():
        logits = victim(points)
    runner_up = logits.scatter(1, labels[:, None], float("-inf")).argmax(dim=1)
    target = out.stats["run_target"]
    fooled = target >= 0
    assert torch.equal(fooled, out.stats["success_step"] >= 0) and fooled.sum() >= 8
    assert torch.equal(target[fooled], runner_up[fooled])
    landed = predictions(victim, out.points)[fooled] == target[fooled]
    assert landed.float().mean() >= 0.8
    assert out.gradient_queries == 20


def test_more_targets_only_add_runs_on_the_standing_clouds(victim, batch) -> None:
    """Targeted CE this time; the first target's run is the one-target run (same generator)."""
    points, labels = batch
    one, every = (
        run(
            APGD(APGDConfig(eps=0.08, steps=10, targeted=True, target_classes=count)),
            victim,
            points,
            labels,
        )
        for count in (1, 9)
    )
    assert every.gradient_queries == 10 * (len(TOY_CLASSES) - 1)  # at most K - 1 targets
    first, later = one.stats["run_target"], every.stats["run_target"]
    assert (first >= 0).sum() >= 8
    assert torch.equal(later[first >= 0], first[first >= 0])  # more runs only add
    fooled = later >= 0
    assert (predictions(victim, every.points)[fooled] != labels[fooled]).all()


def test_targeted_dlr_needs_four_classes(batch) -> None:
    points, labels = batch
    toy = ToyVictim(seed=0)
    small = ZeroShotVictim(
        toy.encoder, torch.nn.Identity(), toy.class_embeddings[:3], TOY_CLASSES[:3], 100
    )
    labels = labels % 3
    with pytest.raises(ConfigError, match="at least 4 classes"):
        run(APGD(APGDConfig(loss="dlr", targeted=True)), small, points, labels)
    out = run(APGD(APGDConfig(loss="dlr", steps=2)), small, points, labels)  # untargeted: 3
    assert out.points.shape == points.shape


@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_apgd_works_under_no_grad(victim, batch, loss) -> None:
    points, labels = batch
    with torch.no_grad():
        out = run(APGD(APGDConfig(eps=0.1, steps=5, loss=loss)), victim, points, labels)
    assert robust(victim, out.points, labels) < robust(victim, points, labels)


@pytest.mark.parametrize(
    "bad",
    [{"norm": "l1"}, {"eps": -1.0}, {"loss": "cw"}, {"target_classes": 0}, {"rho": 0.0}],
)
def test_invalid_apgd_config_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError):
        APGDConfig(**bad)


# Random search


def test_patch_fraction_follows_square_attacks_schedule() -> None:
    assert patch_fraction(0.8, 0, 10_000) == 0.8
    assert patch_fraction(0.8, 10, 10_000) == 0.8
    assert patch_fraction(0.8, 11, 10_000) == 0.4
    assert patch_fraction(0.8, 4000, 10_000) == 0.8 / 64
    assert patch_fraction(0.8, 9999, 10_000) == 0.8 / 512
    assert patch_fraction(0.8, 1, 100) == 0.8 / 4  # rescaled: step 1 of 100 is 100 of 10,000


@pytest.mark.parametrize("norm,eps", [("linf", 0.15), ("l2", 2.5)])
def test_random_search_beats_noise_at_the_same_budget(victim, batch, norm, eps) -> None:
    points, labels = batch
    noise = run(Noise(NoiseConfig(norm=norm, eps=eps)), victim, points, labels)
    search = RandomSearch(RandomSearchConfig(norm=norm, eps=eps, steps=200))
    out = run(search, victim, points, labels)
    check_threat_model(search.threat_model(), points, out.points)
    assert robust(victim, out.points, labels) <= robust(victim, noise.points, labels) - 10
    assert out.gradient_queries == 0


def test_random_search_never_asks_for_a_gradient_and_counts_its_queries(batch) -> None:
    points, labels = batch
    counting = CountingVictim()
    out = run(RandomSearch(RandomSearchConfig(eps=0.15, steps=100)), counting, points, labels)
    assert not counting.gradient_possible
    queries, step = out.stats["queries"], out.stats["success_step"]
    assert int(queries.sum()) == counting.rows_seen
    # The clean cloud, the start, then one proposal per step until fooled.
    assert torch.equal(queries, torch.where(step >= 0, step + 2, 102))
    fooled = predictions(counting, out.points) != labels
    assert torch.equal(fooled, step >= 0) and 0 < int(fooled.sum()) < len(labels)


def test_random_search_linf_stays_on_the_vertices_and_l2_on_the_sphere(victim, batch) -> None:
    points, labels = batch
    linf = run(RandomSearch(RandomSearchConfig(eps=0.1, steps=20)), victim, points, labels)
    change = (linf.points - points).abs()
    torch.testing.assert_close(change, torch.full_like(change, 0.1))
    l2 = run(RandomSearch(RandomSearchConfig(norm="l2", eps=1.0, steps=20)), victim, points, labels)
    norms = (l2.points - points).flatten(1).norm(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_targeted_random_search_lands_on_its_targets(victim, batch) -> None:
    points, labels = batch
    config = RandomSearchConfig(eps=0.2, steps=200, targeted=True)
    out = run(RandomSearch(config), victim, points, labels)
    target = out.stats["target"]
    assert (target != labels).all()
    hit = predictions(victim, out.points) == target
    # Toy clouds fall to "ball" first; a random target is that class for about a quarter.
    assert torch.equal(hit, out.stats["success_step"] >= 0) and hit.sum() >= 6
    assert out.stats["loss_final"].mean() < out.stats["loss_start"].mean() - 1


# Noise


def test_linf_noise_fills_the_budget_exactly() -> None:
    points, labels = toy_clouds(8, 64, seed=2, channels=6)
    noise = Noise(NoiseConfig(norm="linf", eps=0.05))
    out = run(noise, UntouchableVictim(), points, labels)
    check_threat_model(noise.threat_model(), points, out.points)
    change = (out.points[..., :3] - points[..., :3]).abs()
    torch.testing.assert_close(change, torch.full_like(change, 0.05))
    assert torch.equal(out.points[..., 3:], points[..., 3:])
    signs = (out.points[..., :3] > points[..., :3]).float().mean()
    assert 0.4 < float(signs) < 0.6
    assert out.gradient_queries == 0 and not out.stats


def test_l2_noise_has_norm_eps_and_uniform_noise_stays_inside() -> None:
    points, labels = toy_clouds(8, 64, seed=2)
    out = run(Noise(NoiseConfig(norm="l2", eps=0.7)), UntouchableVictim(), points, labels)
    norms = (out.points - points).flatten(1).norm(dim=1)
    torch.testing.assert_close(norms, torch.full_like(norms, 0.7))
    inside = Noise(NoiseConfig(norm="linf", eps=0.05, distribution="uniform"))
    spread = (run(inside, UntouchableVictim(), points, labels).points - points).abs()
    assert spread.max() <= 0.05 + 1e-7 and spread.mean() < 0.03  # uniform: mean eps / 2


def test_zero_budget_noise_is_the_clean_cloud() -> None:
    points, labels = toy_clouds(4, 64, seed=2)
    out = run(Noise(NoiseConfig(eps=0.0)), UntouchableVictim(), points, labels)
    assert torch.equal(out.points, points) and out.points is not points


def test_invalid_search_and_noise_configs_are_config_errors() -> None:
    for bad in ({"p_init": 0.0}, {"p_init": 1.5}, {"steps": -1}, {"norm": "point_l2"}):
        with pytest.raises(ConfigError):
            RandomSearchConfig(**bad)
    for bad in ({"distribution": "gaussian"}, {"eps": float("nan")}):
        with pytest.raises(ConfigError):
            NoiseConfig(**bad)
