"""The conformance checks of an attack plugin, against the toy victims of `bench.testing.toys`.

They hold an attack to what a cell relies on without looking: the budget its threat model
declares, its input left alone, randomness only from the generator it is given (so results
repeat and do not depend on the batch), the configured EOT draws on every query of a stochastic
victim, and the documented shape of its output.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from bench.contracts.plugins import ATTACKS
from bench.contracts.randomness import SampleStreams
from bench.evaluation.threat import check_threat_model
from bench.testing.checklist import Checklist
from bench.testing.smoke import smoke_config
from bench.testing.toys import ToyVictim, toy_clouds, with_untrained_auxiliary


def check_attack(name: str, *, echo: bool = True) -> list[str]:
    """Budget respected, input untouched, dtype/device kept, randomness only from the generator,
    per-sample stats, a zero budget changes nothing, every query of a stochastic victim
    averages its draws, and batch invariance. Returns (and with `echo` prints) one line per
    property checked; the first property broken raises an AssertionError naming it."""
    cls = ATTACKS.get(name).cls
    report = Checklist("attack", name, echo)
    victim = ToyVictim(seed=0)
    points, labels = toy_clouds(4, 128, seed=1)
    attack = ready(cls, smoke_config(cls), points.shape[1])
    original = points.clone()
    torch.manual_seed(123)
    first = attack.run(victim, points, labels, torch.Generator().manual_seed(7))
    assert torch.equal(points, original), f"{name} mutated its input"
    report.ok("input left unchanged")
    assert first.points.dtype == points.dtype and first.points.device == points.device, (
        f"{name} returned {first.points.dtype} on {first.points.device} for {points.dtype} on"
        f" {points.device}"
    )
    report.ok("dtype and device kept")
    threat = attack.threat_model()
    check_threat_model(threat, points, first.points)
    report.ok(f"budget respected ({threat.describe()})")
    queries = first.gradient_queries
    assert isinstance(queries, int) and not isinstance(queries, bool) and queries >= 0, (
        f"{name}: gradient_queries must be an int >= 0 (passes per sample), not {queries!r}"
    )
    report.ok(f"gradient_queries is an int ({queries})")
    torch.manual_seed(456)
    second = attack.run(victim, points, labels, torch.Generator().manual_seed(7))
    assert torch.equal(first.points, second.points), (
        f"{name} draws randomness outside its generator"
    )
    report.ok("randomness drawn only from its generator (same generator, same clouds)")
    for key, values in first.stats.items():
        assert isinstance(values, torch.Tensor) and values.shape == (len(points),), (
            f"{name}: stat {key} is not a per-sample tensor [B]"
        )
    report.ok(f"stats are per-sample [B] ({', '.join(sorted(first.stats)) or 'none'})")
    wide = attack.run(ToyVictim(seed=0).double(), points.double(), labels, torch.Generator())
    assert wide.points.dtype == torch.float64, f"{name} does not keep float64 clouds"
    check_threat_model(threat, points.double(), wide.points)
    report.ok("float64 clouds stay float64 and within budget")
    _check_zero_budget(name, attack, points, labels, report)
    _check_eot(name, attack, points, labels, report)
    _check_batch_invariance(name, attack, points, labels)
    report.ok("batch-invariant against a deterministic and a stochastic victim")
    return report.lines


def ready(cls: type, config: Any, points: int) -> Any:
    """The attack with this config, its auxiliary network (if it needs one) bound untrained."""
    return with_untrained_auxiliary(cls(config), points)


def _check_zero_budget(
    name: str, attack: Any, points: torch.Tensor, labels: torch.Tensor, report: Checklist
) -> None:
    """eps = 0 or steps = 0 returns the clean clouds, for attacks that keep the point count."""
    threat = attack.threat_model()
    if threat.points_added or threat.points_dropped:
        report.skip("zero budget", "it changes the point count")
        return
    names = {f.name for f in dataclasses.fields(attack.config)}
    budgets = [field_name for field_name in ("eps", "steps") if field_name in names]
    if not budgets:
        report.skip("zero budget", "no eps or steps field")
    for field_name in budgets:
        quiet = ready(
            type(attack), dataclasses.replace(attack.config, **{field_name: 0}), points.shape[1]
        )
        out = quiet.run(ToyVictim(seed=0), points, labels, torch.Generator().manual_seed(7))
        assert torch.equal(out.points, points), f"{name} with {field_name}=0 changed the clouds"
        report.ok(f"{field_name}=0 returns the clean clouds")


class _RecordingVictim(ToyVictim):
    """A stochastic toy victim that records how many draws every query asked for; the fresh
    majority vote that `confirm` casts on a claimed success is a verdict, not a query."""

    def __init__(self) -> None:
        super().__init__(seed=0, input_noise=0.05)
        self.draws_seen: list[int] = []
        self._confirming = False

    def sample(self, points: torch.Tensor, draws: int) -> torch.Tensor:
        if not self._confirming:
            self.draws_seen.append(draws)
        return super().sample(points, draws)

    def confirm(
        self, points: torch.Tensor, classes: torch.Tensor, targeted: bool, success: torch.Tensor
    ) -> torch.Tensor:
        self._confirming = True
        try:
            return super().confirm(points, classes, targeted, success)
        finally:
            self._confirming = False

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        self.draws_seen.append(1)
        return super().forward(points)


def _check_eot(
    name: str, attack: Any, points: torch.Tensor, labels: torch.Tensor, report: Checklist
) -> None:
    """Against a stochastic victim, an attack that queries it averages `eot_draws` draws on
    every query; one that ignores EOT follows single noise draws and overstates robustness."""
    if attack.access not in ("gradient", "scores"):
        report.skip("EOT draws", f"access {attack.access!r} does not query the victim")
        return
    names = {f.name for f in dataclasses.fields(attack.config)}
    assert "eot_draws" in names, (
        f"{name} queries the victim but has no eot_draws setting: against a stochastic victim"
        " it would follow single noise draws"
    )
    victim = _RecordingVictim()
    eot = ready(type(attack), dataclasses.replace(attack.config, eot_draws=3), points.shape[1])
    eot.run(victim, points, labels, torch.Generator().manual_seed(7))
    assert victim.draws_seen, f"{name} never queried the victim"
    assert set(victim.draws_seen) == {3}, (
        f"{name} asked for {sorted(set(victim.draws_seen))} draws with eot_draws=3: every query"
        " of a stochastic victim must average the configured draws (use victim.sample)"
    )
    report.ok(f"eot_draws=3 gives 3 draws on each of its {len(victim.draws_seen)} queries")


def _check_batch_invariance(
    name: str, attack: Any, points: torch.Tensor, labels: torch.Tensor
) -> None:
    """With per-sample streams, a sample's adversarial cloud is the same alone or in a batch,
    against a deterministic and against a stochastic victim."""
    ids = [f"sample {i}" for i in range(len(points))]
    for victim in (ToyVictim(seed=0), ToyVictim(seed=0, input_noise=0.05)):
        outputs = []
        for part in (slice(None), slice(2, None)):
            victim.bind(SampleStreams.for_samples(0, ids[part], "victim"))
            streams = SampleStreams.for_samples(0, ids[part], "attack")
            outputs.append(attack.run(victim, points[part], labels[part], streams).points)
        victim.bind(None)
        assert torch.allclose(outputs[0][2:], outputs[1], atol=1e-5), (
            f"{name}: a sample's result depends on its batch (draw through"
            " bench.contracts.randomness with the generator you are given)"
        )
