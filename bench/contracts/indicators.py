"""Attack-failure indicators: one table of what each one says and why it matters.

After Pintor et al. (Indicators of Attack Failure, NeurIPS 2022) and Carlini et al. (On
Evaluating Adversarial Robustness, 2019). A cell's record keeps each indicator that fired as
its sentence (`Indicator.say`); tables mark it with its letter and the site's glossary explains
it, all from this table, so the code, the sentence and the explanation cannot drift apart.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class Indicator:
    """One indicator: a stable code, a letter for compact tables, the sentence a record keeps
    (a template of named fields) and what it means for the number beside it."""

    code: str
    letter: str
    title: str
    sentence: str
    explanation: str
    fires_when: str  # the exact condition the code tests, thresholds included
    across_cells: bool = False  # computed from several records by the leaderboard

    def say(self, **fields: Any) -> str:
        """The sentence with its fields filled in."""
        return self.sentence.format(**fields)

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        parts = string.Formatter().parse(self.sentence)
        regex = "".join(re.escape(text) + (".+?" if field else "") for text, field, _, _ in parts)
        return re.compile(f"{regex}$", re.DOTALL)

    def said(self, sentence: str) -> bool:
        """Whether a stored sentence, after any labels ("pgd: ...", or a page's "standard:
        apgd-ce: ..." for a member of a sequence), is this indicator's."""
        rest = sentence
        while True:
            if self._pattern.match(rest) is not None:
                return True
            _, colon, rest = rest.partition(": ")
            if not colon:
                return False


# Thresholds, here so that the code that tests them and the table that documents them agree.
CONVERGENCE_FALL = 0.005  # robust accuracy may fall by at most this over the last half
UNBOUNDED_RESIDUAL = 0.01  # an unbounded attack's interval must reach below this
ZERO_GRADIENT_SHARE = 0.5  # of the clean-correct clouds with an exactly zero gradient
MASKING_SHARE = 0.01  # of all n samples, fooled only by a gradient-free member
SIGNIFICANT = "an exact McNemar test on the same samples gives p < 0.05"
RANKING_ATTACK = "standard"  # the attack a leaderboard ranks by (`attacks/standard.py`)

INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        "loss_not_increased",
        "l",
        "the loss did not rise",
        "the attack did not {direction}",
        "on the samples the attack failed on, its own loss did not move the right way: it"
        " never worked on them, so their robustness is not shown.",
        "the attack's mean final loss over the samples it failed on is not above its mean start"
        " loss (for a targeted attack: not below)",
    ),
    Indicator(
        "not_converged",
        "c",
        "not converged",
        "not converged: robust accuracy still fell from {half}% to {end}% over the last half"
        " of the {steps} steps",
        "accuracy was still falling when the attack stopped: the number is an upper bound"
        " until a longer run confirms it.",
        f"robust accuracy fell by more than {100 * CONVERGENCE_FALL:g} points, and by more than"
        " one sample, from the middle step to the last, and some cloud is left to fool (robust"
        " accuracy above 0)",
    ),
    Indicator(
        "unbounded_left_robust",
        "u",
        "unbounded attack not near 0%",
        "an unbounded attack left {robust}% robust: it should reach about 0% (more iterations"
        " or binary-search steps)",
        "without a budget every cloud can be changed into another class; survivors mean the"
        " attack, not the model, is the limit.",
        f"an unbounded attack's robust accuracy has a 95% interval whose low end is above"
        f" {100 * UNBOUNDED_RESIDUAL:g}%",
    ),
    Indicator(
        "randomness_not_averaged",
        "r",
        "randomness not averaged",
        "the victim is stochastic but the attack {reason}: robustness may be overestimated",
        "a stochastic victim or randomized defense attacked with one draw per step follows"
        " the gradient of one random draw, and looks more robust than it is (use EOT).",
        "the victim or its defense is stochastic and a gradient attack ran with one draw per"
        " step (eot_draws = 1, or no eot_draws setting)",
    ),
    Indicator(
        "zero_gradient",
        "z",
        "zero gradient",
        "the loss gradient is exactly zero at {flat} of the {total} clean-correct clouds: a"
        " gradient attack cannot move them (BPDA, or a gradient-free attack)",
        "a non-differentiable defense attacked without BPDA gives no gradient: the gradient"
        " attack never moved those clouds.",
        f"the gradient is exactly zero at more than {100 * ZERO_GRADIENT_SHARE:g}% of the"
        " clean-correct clouds",
    ),
    Indicator(
        "successes_do_not_hold",
        "h",
        "successes do not hold on fresh draws",
        "{count} samples the attack judged fooled on its own draws are not fooled on fresh"
        " draws (McNemar p = {p}): its successes do not hold up; raise eot_draws",
        "the attack stopped on draws that happened to be fooled; fresh draws undo it, so the"
        " attack needs more EOT draws to be believed.",
        f"more samples were judged fooled on the attack's own draws than on fresh draws, and"
        f" {SIGNIFICANT}",
    ),
    Indicator(
        "naive_beat_adaptive",
        "n",
        "naive run beat the adaptive one",
        "the adaptive (EOT) attack did worse than the naive one ({naive}% vs {adaptive}%"
        " robust, McNemar p = {p})",
        "the adaptive run should be the stronger; when it is not, its configuration is the"
        " limit and the naive number is the one to believe.",
        f"the naive run left fewer samples robust than the adaptive one, and {SIGNIFICANT}",
    ),
    Indicator(
        "unaware_beat_adaptive",
        "d",
        "defense-unaware run beat the adaptive one",
        "the defense-unaware attack (crafted on the undefended victim) beat the adaptive one:"
        " the adaptive attack does not get through the defense (BPDA, EOT) ({unaware}% vs"
        " {adaptive}% robust, McNemar p = {p})",
        "an attack that ignores the defense did better than one aimed through it: the"
        " adaptive attack is too weak, and the defense is credited for it.",
        "the defense-unaware run left fewer samples robust than the adaptive one, and"
        f" {SIGNIFICANT}",
    ),
    Indicator(
        "gradient_free_member_won",
        "m",
        "gradient-free member fooled more",
        "the gradient-free member {member} fooled {caught} samples the gradient members"
        " missed: their gradients may be masked",
        "a search without gradients should not beat gradient attacks on a differentiable"
        " model; when it does, the gradients are masked or the attacks misconfigured.",
        f"a gradient-free member fooled more than {100 * MASKING_SHARE:g}% of all n samples"
        " (robust accuracy fell by more than that many points in it) that the gradient"
        " members before it had left standing",
    ),
    Indicator(
        "order_changes_verdicts",
        "o",
        "point order alone changes verdicts",
        "point order alone misclassified {flipped} of the {total} clean-correct clouds (McNemar"
        " p = {p}): this victim's numbers depend on the order its clouds' points are stored in",
        "no point moved, only their order: an encoder that samples from the first point (FPS)"
        " answers differently for the same shape, so every accuracy of this victim depends on"
        " how the dataset files order their points, and an attack can exploit the order alone.",
        "in a cell whose threat model only reorders points (the `shuffle` attack) on a"
        f" deterministic victim, fewer clouds were right reordered than clean, and {SIGNIFICANT}",
    ),
    Indicator(
        "budget_did_not_lower",
        "b",
        "a larger budget did not lower accuracy",
        "a larger budget did not lower robust accuracy: {high}% at eps {large} against {low}%"
        " at eps {small}",
        "accuracy must fall as the budget grows; otherwise the attack, not the model, is the"
        " limit.",
        "of two cells that differ only in eps (and step size), the larger eps left robust"
        " accuracy no lower than the smaller one's, which was above 0%",
        across_cells=True,
    ),
    Indicator(
        "black_box_beat_white_box",
        "g",
        "black-box or noise beat white-box",
        "the {access} attack {attack} left fewer samples robust ({black}% vs {white}%, McNemar"
        " p = {p} after Holm over {family} pair(s)): this attack's gradients may be masked",
        "a gradient-free, transfer or random attack left fewer samples robust than a gradient"
        " attack on the same victim: gradients are masked or the attack is misconfigured.",
        "an attack without gradients (scores, transfer, random) with the same threat model on"
        f" the same victim left fewer samples robust than the gradient attack, and {SIGNIFICANT}"
        " after Holm-Bonferroni adjustment over every such pair of the table's cells",
        across_cells=True,
    ),
    Indicator(
        "stronger_gradient_attack",
        "s",
        "another gradient attack beat the ranking one",
        "the gradient attack {attack} left fewer samples robust than this ranking attack ({other}%"
        " vs {ranked}%, McNemar p = {p} after Holm over {family} pair(s)): this number overstates"
        " robustness",
        "the ranking attack should be the strongest gradient attack of its track; when another"
        " one fools significantly more clouds, the ranking attack is too weak on this victim,"
        " and the track's per-sample worst case over both is the number to believe.",
        f"another gradient attack with the same threat model on the same victim left fewer"
        f" samples robust than the ranking attack ({RANKING_ATTACK}), and {SIGNIFICANT} after"
        " Holm-Bonferroni adjustment over every such pair of the table's cells",
        across_cells=True,
    ),
)
BY_CODE: dict[str, Indicator] = {indicator.code: indicator for indicator in INDICATORS}


def warn(code: str, **fields: Any) -> str:
    """The sentence a record keeps when the indicator `code` fires."""
    return BY_CODE[code].say(**fields)


def indicator_of(sentence: str) -> Indicator | None:
    """The indicator a stored sentence is from (None for a sentence no indicator says)."""
    return next((i for i in INDICATORS if i.said(sentence)), None)


def indicator_letters(sentences: Iterable[str]) -> str:
    """The letters of the indicators these stored sentences are from, sorted, each once."""
    return "".join(sorted({i.letter for s in sentences if (i := indicator_of(s))}))
