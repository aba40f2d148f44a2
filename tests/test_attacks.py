"""PGD and the clean attack on the toy victim, the threat-model check, and perturbation metrics."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from attacks.clean import NoAttack
from attacks.pgd import PGD, PGDConfig
from bench.contracts.errors import ConfigError, ThreatModelViolation
from bench.contracts.plugins import AttackOutput, ThreatModel
from bench.evaluation.metrics import perturbation_metrics
from bench.evaluation.threat import check_threat_model
from bench.testing.toys import TOY_CLASSES, ToyVictim, toy_clouds

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def victim() -> ToyVictim:
    return ToyVictim(seed=0)


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_clouds(32, 128, seed=5)


def attack(
    victim: ToyVictim, points: torch.Tensor, labels: torch.Tensor, seed: int = 0, **config: Any
) -> AttackOutput:
    return PGD(PGDConfig(**config)).run(victim, points, labels, torch.Generator().manual_seed(seed))


def accuracy(victim: ToyVictim, points: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return (victim(points).argmax(dim=1) == labels).float().mean().item()


@pytest.mark.parametrize("norm,eps", [("linf", 0.5), ("l2", 4.0), ("point_l2", 0.5)])
def test_pgd_breaks_the_toy_victim_at_a_large_budget(victim, batch, norm, eps) -> None:
    points, labels = batch
    out = attack(victim, points, labels, norm=norm, eps=eps, steps=20)
    assert accuracy(victim, points, labels) >= 0.9
    assert accuracy(victim, out.points, labels) <= 0.2
    assert out.gradient_queries == 20


def test_linf_budget_is_respected_and_reached(victim, batch) -> None:
    points, labels = batch
    pgd = PGD(PGDConfig(norm="linf", eps=0.05, steps=10))
    out = pgd.run(victim, points, labels, torch.Generator().manual_seed(0))
    check_threat_model(pgd.threat_model(), points, out.points)
    change = (out.points - points).abs()
    per_sample = change.flatten(1).amax(dim=1)
    assert per_sample.max().item() == pytest.approx(0.05, abs=1e-6)
    # Samples fooled early keep that earlier iterate; the others end on the bound, though
    # max-pooling gives gradient only to pooled points, so only part of the cloud hits it.
    on_bound = per_sample > 0.05 - 1e-6
    assert on_bound.any()
    assert (change[on_bound] > 0.05 - 1e-6).float().mean().item() > 0.1


def test_l2_budget_is_respected_and_reached(victim, batch) -> None:
    points, labels = batch
    pgd = PGD(PGDConfig(norm="l2", eps=0.5, steps=10))
    out = pgd.run(victim, points, labels, torch.Generator().manual_seed(0))
    check_threat_model(pgd.threat_model(), points, out.points)
    norms = (out.points - points).flatten(1).norm(dim=1)
    assert norms.max().item() > 0.5 * 0.999  # the ball is large enough to be left: on its sphere


def test_point_l2_budget_is_respected_and_reached(victim, batch) -> None:
    points, labels = batch
    pgd = PGD(PGDConfig(norm="point_l2", eps=0.05, steps=10))
    out = pgd.run(victim, points, labels, torch.Generator().manual_seed(0))
    check_threat_model(pgd.threat_model(), points, out.points)
    lengths = (out.points - points).norm(dim=-1)
    assert lengths.max().item() == pytest.approx(0.05, rel=1e-5)  # each point on its own sphere


@pytest.mark.parametrize("config", [{}, {"norm": "l2", "eps": 0.5}, {"targeted": True}])
def test_input_untouched_and_dtype_device_kept(victim, batch, config) -> None:
    points, labels = batch
    original = points.clone()
    out = attack(victim, points, labels, **config)
    assert torch.equal(points, original)
    assert out.points.dtype == points.dtype and out.points.device == points.device
    assert not out.points.requires_grad
    assert all(p.grad is None for p in victim.parameters())
    assert all(value.shape == (len(points),) for value in out.stats.values())


@pytest.mark.parametrize("config", [{}, {"norm": "l2", "eps": 0.5}, {"targeted": True}])
def test_randomness_comes_only_from_the_generator(victim, batch, config) -> None:
    points, labels = batch
    torch.manual_seed(1)
    first = attack(victim, points, labels, seed=3, **config)
    torch.manual_seed(2)
    second = attack(victim, points, labels, seed=3, **config)
    other = attack(victim, points, labels, seed=4, **config)
    assert torch.equal(first.points, second.points)
    assert not torch.equal(first.points, other.points)  # the generator is actually used


@pytest.mark.parametrize("config", [{"eps": 0.0}, {"steps": 0}, {"eps": 0.0, "norm": "l2"}])
def test_zero_budget_or_zero_steps_is_a_no_op(victim, batch, config) -> None:
    points, labels = batch
    out = attack(victim, points, labels, random_start=True, **config)
    assert torch.equal(out.points, points) and out.points is not points
    assert out.gradient_queries == 0
    assert torch.equal(out.stats["loss_start"], out.stats["loss_final"])


def test_targeted_mode_reaches_its_targets(victim, batch) -> None:
    points, labels = batch
    out = attack(victim, points, labels, eps=0.3, steps=20, targeted=True)
    target = out.stats["target"]
    assert (target != labels).all() and target.min() >= 0 and target.max() < len(TOY_CLASSES)
    with torch.no_grad():
        hit = (victim(out.points).argmax(dim=1) == target).float().mean().item()
    assert hit > 0.5  # chance is 1 / 5
    assert out.stats["loss_final"].mean() < out.stats["loss_start"].mean()


def test_rgb_channels_are_untouched(victim) -> None:
    points, labels = toy_clouds(16, 128, seed=6, channels=6)
    pgd = PGD(PGDConfig(eps=0.2, steps=5))
    out = pgd.run(victim, points, labels, torch.Generator().manual_seed(0))
    assert torch.equal(out.points[..., 3:], points[..., 3:])
    assert not torch.equal(out.points[..., :3], points[..., :3])
    check_threat_model(pgd.threat_model(), points, out.points)


def test_untargeted_attack_raises_the_loss(victim, batch) -> None:
    points, labels = batch
    out = attack(victim, points, labels, eps=0.05, steps=10)
    assert out.stats["loss_final"].mean() > out.stats["loss_start"].mean()
    assert (out.stats["loss_final"] >= out.stats["loss_start"] - 1e-4).float().mean() >= 0.9


def test_restarts_keep_each_samples_best(victim, batch) -> None:
    """The first of three restarts is the single-restart run (same generator), so it is a floor."""
    points, labels = batch
    single = attack(victim, points, labels, eps=0.04, steps=5, restarts=1)
    best = attack(victim, points, labels, eps=0.04, steps=5, restarts=3)
    assert best.gradient_queries == 15
    with torch.no_grad():
        single_success = victim(single.points).argmax(dim=1) != labels
        best_success = victim(best.points).argmax(dim=1) != labels
    assert (best_success | ~single_success).all()
    same = best_success == single_success
    assert (best.stats["loss_final"][same] >= single.stats["loss_final"][same]).all()


def test_saturated_victim_still_gets_a_gradient(batch) -> None:
    """With logit scale 1e4 the cross-entropy gradient underflows to zero; PGD must not stall."""
    points, labels = batch
    saturated = ToyVictim(seed=0, logit_scale=1e4)
    inputs = points.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(saturated(inputs), labels, reduction="sum")
    (plain,) = torch.autograd.grad(loss, inputs)
    assert (plain == 0).all()  # the hazard is real for this victim
    out = attack(saturated, points, labels, eps=0.5, steps=20, random_start=False)
    assert accuracy(saturated, out.points, labels) <= 0.2


def test_attack_works_under_no_grad(victim, batch) -> None:
    points, labels = batch
    with torch.no_grad():
        out = attack(victim, points, labels, eps=0.5, steps=5)
    assert accuracy(victim, out.points, labels) < accuracy(victim, points, labels)


@pytest.mark.parametrize(
    "bad", [{"eps": -1.0}, {"norm": "l3"}, {"steps": -1}, {"restarts": 0}, {"step_size": 0.0}]
)
def test_invalid_config_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError):
        PGDConfig(**bad)


def test_step_size_rules() -> None:
    assert PGDConfig(eps=0.05, steps=10).alpha() == pytest.approx(0.0125)
    standard = PGD.presets["paper"]
    assert (standard.norm, standard.eps, standard.steps) == ("linf", 0.05, 200)
    assert standard.alpha() == pytest.approx(standard.eps / 10) and standard.random_start


def test_clean_attack_returns_an_equal_copy(victim, batch) -> None:
    points, labels = batch
    none = NoAttack()
    out = none.run(victim, points, labels, torch.Generator().manual_seed(0))
    assert torch.equal(out.points, points) and out.points.data_ptr() != points.data_ptr()
    check_threat_model(none.threat_model(), points, out.points)


def test_threat_check_passes_on_the_boundary_and_names_violators() -> None:
    clean = torch.zeros(3, 4, 6)
    adversarial = clean.clone()
    adversarial[:, 0, 0] = 0.1
    check_threat_model(ThreatModel("linf", 0.1), clean, adversarial)
    check_threat_model(ThreatModel("l2", 0.1), clean, adversarial)
    adversarial[2, 1, 1] = 0.15
    too_far = r"samples 2 exceed the linf budget 0\.1 with changes of up to 0\.15\."
    with pytest.raises(ThreatModelViolation, match=too_far):
        check_threat_model(ThreatModel("linf", 0.1), clean, adversarial)
    with pytest.raises(ThreatModelViolation, match=r"samples 2 exceed the l2 budget"):
        check_threat_model(ThreatModel("l2", 0.1), clean, adversarial)
    with pytest.raises(ThreatModelViolation, match=r"samples 0, 1, 2 move original points"):
        check_threat_model(ThreatModel("none"), clean, adversarial)


@pytest.mark.parametrize(
    "index,value,message",
    [
        ((1, 2, 0), float("nan"), "samples 1 contain NaN"),
        ((0, 2, 4), 0.01, "samples 0 change non-coordinate channels"),
    ],
)
def test_threat_check_rejects_nan_and_colour_changes(index, value, message) -> None:
    clean = torch.zeros(2, 4, 6)
    adversarial = clean.clone()
    adversarial[index] = value
    with pytest.raises(ThreatModelViolation, match=message):
        check_threat_model(ThreatModel("linf", 1.0), clean, adversarial)


def test_threat_check_rejects_a_shape_change() -> None:
    with pytest.raises(ThreatModelViolation, match="shape"):
        check_threat_model(ThreatModel("linf", 1.0), torch.zeros(2, 4, 3), torch.zeros(2, 5, 3))


def test_metrics_on_a_hand_made_example() -> None:
    clean = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]).repeat(2, 1, 1)
    clean = torch.cat([clean, torch.rand(2, 4, 3)], dim=-1)  # colour is ignored
    adversarial = clean.clone()
    adversarial[0, 0, 0] = 0.8  # now 0.2 from clean point 1; clean point 0 is 0.8 from it
    adversarial[1, 0, 1] = 1e-7  # below the "changed" tolerance
    adversarial[..., 3:] = 0.5
    metrics = perturbation_metrics(clean, adversarial)
    expected = {
        "linf": [0.8, 1e-7],
        "l2": [0.8, 1e-7],
        "point_l2": [0.8, 1e-7],
        "chamfer_sq_two_sided": [(0.04 / 4 + 0.64 / 4) / 2, 1e-14],  # symmetric, averaged
        "hausdorff_sq_adv_to_clean": [0.04, 1e-14],  # adversarial -> clean only
        "points_changed": [1.0, 0.0],
        "points_added": [0.0, 0.0],
        "points_dropped": [0.0, 0.0],
    }
    assert set(metrics) == set(expected)
    for name, values in expected.items():
        assert metrics[name].shape == (2,)
        torch.testing.assert_close(metrics[name], torch.tensor(values), rtol=1e-5, atol=1e-9)


def test_chunked_metrics_equal_unchunked() -> None:
    generator = torch.Generator().manual_seed(0)
    clean = torch.randn(3, 50, 3, generator=generator)
    adversarial = clean + 0.05 * torch.randn(3, 50, 3, generator=generator)
    whole = perturbation_metrics(clean, adversarial, chunk=50)
    for chunk in (1, 7, None):
        for name, value in perturbation_metrics(clean, adversarial, chunk=chunk).items():
            torch.testing.assert_close(value, whole[name], rtol=0, atol=0)


def test_pgd_returns_each_samples_best_iterate_and_first_success(victim, batch) -> None:
    points, labels = batch
    out = attack(victim, points, labels, eps=0.08, steps=10, random_start=False)
    step = out.stats["success_step"]
    with torch.no_grad():
        fooled = victim(out.points).argmax(dim=1) != labels
    assert torch.equal(fooled, step >= 0)  # a deterministic victim: the verdict is exact
    assert 0 < int(fooled.sum()) < len(labels) and int(step.max()) <= 10
    robust = step < 0  # the start (the clean cloud) is an iterate: the best is never worse
    assert (out.stats["loss_final"][robust] >= out.stats["loss_start"][robust]).all()


class CountingVictim(ToyVictim):
    """The toy victim, counting the clouds each forward pass sees."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.rows_seen = 0

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        self.rows_seen += len(points)
        return super().forward(points)


def test_a_sample_leaves_the_run_at_its_first_success(batch) -> None:
    points, labels = batch
    counting = CountingVictim()
    out = attack(counting, points, labels, eps=0.08, steps=10, random_start=False)
    steps = out.stats["success_step"]
    assert 0 < int((steps >= 0).sum()) < len(labels)  # some fooled, some standing
    # One clean pass, then iterates 0..a sample's first success, or all 11 if never fooled.
    expected = len(labels) + int(torch.where(steps >= 0, steps + 1, 11).sum())
    assert counting.rows_seen == expected < 12 * len(labels)
    alone = [
        attack(
            counting, points[i : i + 1], labels[i : i + 1], eps=0.08, steps=10, random_start=False
        )
        for i in range(4)
    ]
    for i, single in enumerate(alone):
        torch.testing.assert_close(single.points[0], out.points[i], rtol=0, atol=1e-6)
        assert int(single.stats["success_step"]) == int(steps[i])


def test_threat_check_per_point_and_unbounded_norms() -> None:
    clean = torch.zeros(2, 4, 3)
    moved = clean.clone()
    moved[0, 1] = torch.tensor([0.06, 0.08, 0.0])  # length 0.1: on the per-point bound
    check_threat_model(ThreatModel("point_l2", 0.1), clean, moved)
    moved[1, 2, 2] = 0.1001
    with pytest.raises(ThreatModelViolation, match=r"samples 1 move a point farther than"):
        check_threat_model(ThreatModel("point_l2", 0.1), clean, moved)
    check_threat_model(ThreatModel("unbounded", penalised=("l2",)), clean, moved + 100)
    moved[0, 0, 0] = float("nan")
    with pytest.raises(ThreatModelViolation, match="NaN"):
        check_threat_model(ThreatModel("unbounded"), clean, moved)


def test_threat_check_of_added_points() -> None:
    clean, _ = toy_clouds(2, 16, seed=0, channels=6)
    added = torch.cat([clean, 5 * torch.ones(2, 3, 6)], dim=1)  # anywhere, rgb included
    check_threat_model(ThreatModel("none", points_added=3), clean, added)
    with pytest.raises(ThreatModelViolation, match="adds exactly 4 points"):
        check_threat_model(ThreatModel("none", points_added=4), clean, added)
    added[1, 0, 0] += 1e-3  # an original point moved
    with pytest.raises(ThreatModelViolation, match="samples 1 move original points"):
        check_threat_model(ThreatModel("none", points_added=3), clean, added)


def test_threat_check_of_dropped_points_allows_any_order_but_no_moves() -> None:
    clean, _ = toy_clouds(2, 16, seed=0, channels=6)
    kept = clean[:, [15, 3, 0, 7, 9, 1, 2, 4, 5, 6, 8, 10]]  # four dropped, shuffled
    check_threat_model(ThreatModel("none", points_dropped=4), clean, kept)
    with pytest.raises(ThreatModelViolation, match="removes exactly 3 points"):
        check_threat_model(ThreatModel("none", points_dropped=3), clean, kept)
    kept = kept.clone()
    kept[0, 2, 4] += 0.01  # a colour changed: not a clean point any more
    with pytest.raises(ThreatModelViolation, match="samples 0 contain points that are not"):
        check_threat_model(ThreatModel("none", points_dropped=4), clean, kept)
    with pytest.raises(ValueError, match="not both"):
        ThreatModel("none", points_added=1, points_dropped=1)


def test_threat_check_of_dropped_points_counts_copies() -> None:
    clean, _ = toy_clouds(2, 1024, seed=0)
    repeated = clean[:, :1].expand(-1, 924, -1).contiguous()  # one clean point, 924 times
    with pytest.raises(ThreatModelViolation, match="samples 0, 1 contain .* more copies"):
        check_threat_model(ThreatModel("none", points_dropped=100), clean, repeated)
    twice = clean.clone()
    twice[:, 1] = twice[:, 0]  # a clean cloud may hold a point twice, and keep both copies
    check_threat_model(ThreatModel("none", points_dropped=1), twice, twice[:, :-1])
    thrice = twice[:, :-2].clone()
    thrice[1, 2] = twice[1, 0]  # sample 1 keeps three copies of a point it holds twice
    with pytest.raises(ThreatModelViolation, match="samples 1 contain"):
        check_threat_model(ThreatModel("none", points_dropped=2), twice, thrice)


def test_metrics_of_clouds_that_change_size_are_set_distances_and_counts() -> None:
    clean, _ = toy_clouds(2, 16, seed=0)
    bigger = torch.cat([clean, clean[:, :2] + 0.1], dim=1)
    metrics = perturbation_metrics(clean, bigger)
    assert "linf" not in metrics and "points_changed" not in metrics
    assert metrics["points_added"].tolist() == [2.0, 2.0]
    assert metrics["points_dropped"].tolist() == [0.0, 0.0]
    # The two added points are 0.1 * sqrt(3) from their origin, or nearer to another point.
    assert (metrics["hausdorff_sq_adv_to_clean"] <= 0.03 + 1e-6).all()
    smaller = perturbation_metrics(clean, clean[:, 4:])
    assert smaller["points_dropped"].tolist() == [4.0, 4.0]
    assert (smaller["hausdorff_sq_adv_to_clean"] == 0).all()
