"""Open-vocabulary target: a targeted PGD toward any text, not only an evaluated class."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from attacks.pgd import NORMS, PGDConfig, run_pgd
from bench.contracts.bounds import (
    EOT_DRAWS,
    EPS,
    RESTARTS,
    STEPS,
    Matches,
    number,
    one_of,
    optional,
    require,
)
from bench.contracts.errors import ConfigError
from bench.contracts.plugins import ATTACKS, Attack, AttackOutput, PluginInfo, ThreatModel

if TYPE_CHECKING:
    import torch

    from bench.contracts.randomness import RandomSource
    from bench.contracts.victim import Victim

# A class name as a user would type one: printable, no line breaks, at most 100 characters.
TARGET_TEXT = Matches(r"[^\x00-\x1f\x7f]{1,100}", "a class name of 1 to 100 printable characters")


@dataclass(frozen=True)
class OpenTargetConfig:
    """The target text and PGD's settings (`attacks.pgd`), always targeted.

    `target_text` is a class name: the method's prompt templates wrap it as they wrap the
    evaluated names ("a point cloud of a {}").
    """

    target_text: str = "gun"
    norm: str = "linf"
    eps: float = 0.05
    steps: int = 50
    step_size: float | None = None
    random_start: bool = True
    restarts: int = 1
    eot_draws: int = 0

    def __post_init__(self) -> None:
        require(
            self,
            "open_target",
            {
                "target_text": TARGET_TEXT,
                "norm": one_of(*NORMS),
                "eps": EPS,
                "steps": STEPS,
                "step_size": optional(number(0, 1_000, low_open=True)),
                "restarts": RESTARTS,
                "eot_draws": EOT_DRAWS,
            },
        )

    def pgd(self) -> PGDConfig:
        """The targeted PGD run toward the text."""
        return PGDConfig(
            norm=self.norm,
            eps=self.eps,
            steps=self.steps,
            step_size=self.step_size,
            random_start=self.random_start,
            targeted=True,
            restarts=self.restarts,
            eot_draws=self.eot_draws,
        )


@ATTACKS.register("open_target")
class OpenTarget(Attack[OpenTargetConfig]):
    """Make the encoder see any text: a targeted PGD toward a name outside the evaluated set.

    A zero-shot classifier's class set is open: whoever deploys it can add a name at any time.
    An attacker can therefore aim at a class the benchmark never evaluated ("gun"). The cell
    appends `target_text` to the evaluated class names (`extra_classes`), so the victim
    classifies K + 1 names, and every clean-correct cloud is attacked toward the new one.
    Clean and robust accuracy are judged over those K + 1 names (the extra name is a
    distractor the clean clouds can already fall for); attack success is the share of
    clean-correct clouds classified as the target text. These cells form no leaderboard track
    (their victim is not the evaluated classifier): the site lists them apart.

    The run is PGD's (`attacks.pgd`), targeted, with the target fixed to the text's class:
    cross-entropy toward it, lowered by sign (L-inf) or normalised (L2) steps, a sample stopping
    at its first iterate classified as the target. Run against a victim directly (the Python
    API), the text must be one of its class names. The text must not be an evaluated class.

    Stats per sample: PGD's, with `target` the text's class index.
    """

    Config = OpenTargetConfig
    version = 1
    info = PluginInfo(
        display="Open-vocabulary target",
        description="Targeted PGD toward any text, judged among the evaluated names plus it.",
        cite="(this harness) after Madry et al., ICLR 2018; the text space is CLIP's",
    )
    smoke = OpenTargetConfig(target_text="disk", steps=3)  # a toy victim's class name

    def threat_model(self) -> ThreatModel:
        return ThreatModel(norm=self.config.norm, eps=self.config.eps)

    def extra_classes(self) -> tuple[str, ...]:
        return (self.config.target_text,)

    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        import torch

        text = self.config.target_text
        if text not in victim.class_names:
            raise ConfigError(
                f"The victim does not classify {text!r}: a cell adds the target text to the"
                " evaluated names; called directly, build the victim with it among its names."
            )
        target = torch.full_like(labels, victim.class_names.index(text))
        return run_pgd(self.config.pgd(), victim, points, labels, generator, targets=target)
