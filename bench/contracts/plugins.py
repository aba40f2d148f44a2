"""The plugin contracts (methods, attacks, datasets, defenses, text encoders) and their registries.

A plugin is a class with a frozen `Config` dataclass (every field defaulted), an integer
`version` bumped whenever its results would change, and a `PluginInfo`. It is constructed from a
config instance. Plugins import only from `bench`; they never import the runner. Heavy imports
(torch and friends) happen inside methods so that listing plugins stays fast.
"""

from __future__ import annotations

import dataclasses
import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from bench.contracts.auxiliary import UsesAuxiliary
from bench.contracts.bounds import EPS, Rules, integer, one_of, require
from bench.contracts.errors import ConfigError
from bench.contracts.registry import Registry
from bench.contracts.releases import Release

if TYPE_CHECKING:
    import numpy as np
    import torch

    from bench.contracts.cloudset import CloudSet
    from bench.contracts.randomness import RandomSource
    from bench.contracts.train_context import TrainContext
    from bench.contracts.victim import Victim

C = TypeVar("C")


@dataclass(frozen=True)
class PluginInfo:
    """What a person reads about a plugin in `bench list` and in published tables."""

    display: str
    description: str  # one line
    cite: str = ""
    url: str = ""


@dataclass(frozen=True)
class NoConfig:
    """The config of a plugin without parameters."""


class Plugin(ABC, Generic[C]):
    """Common shape of every plugin: a validated config instance and class-level metadata."""

    Config: ClassVar[type] = NoConfig
    version: ClassVar[int]
    info: ClassVar[PluginInfo]
    presets: ClassVar[Mapping[str, Any]] = {}  # named configs, e.g. a paper's standard settings
    smoke: ClassVar[Any] = None  # a tiny config for the CPU conformance suite (default: Config())
    # Config fields that say where the plugin runs (devices), not what it computes: they are
    # left out of cell identities, so moving a run to another device reuses its results.
    runtime_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: C | None = None) -> None:
        self.config: C = config if config is not None else self.Config()

    @classmethod
    def contract_problems(cls) -> list[str]:
        """What the class breaks of its kind's contract, checked when it is registered, so a
        plugin's mistake is one sentence at `bench list` time rather than a failure mid-run."""
        fields = _config_fields(cls.Config)
        problems = []
        if not set(cls.runtime_fields) <= fields:
            problems.append(
                f"its runtime_fields {sorted(set(cls.runtime_fields) - fields)} are not Config"
                " fields"
            )
        for name, preset in cls.presets.items():
            if not isinstance(preset, cls.Config):
                problems.append(f"its preset {name!r} is not a {cls.Config.__name__}")
        if cls.smoke is not None and not isinstance(cls.smoke, cls.Config):
            problems.append(f"its smoke config is not a {cls.Config.__name__}")
        return problems


def _config_fields(config: type) -> set[str]:
    return (
        {f.name for f in dataclasses.fields(config)} if dataclasses.is_dataclass(config) else set()
    )


NORMS = ("none", "linf", "l2", "point_l2", "unbounded")
# What each norm bounds, in words, for `bench show attack`: the field names one ball differently.
NORM_MEANINGS = {
    "none": "no original point moves",
    "linf": "every coordinate moves by at most eps",
    "l2": "the whole cloud's change has a Frobenius (global L2) norm of at most eps",
    "point_l2": "each point moves a distance of at most eps (the per-point L2 ball that"
    ' IF-Defense and the Bag-of-Tricks benchmark call "L-inf")',
    "unbounded": "points move anywhere finite; the objective penalises the distance",
}


@dataclass(frozen=True)
class ThreatModel:
    """What an attack may change; every adversarial example is checked against it before storing.

    `norm` bounds how far each original point moves from where it was: "none" (not at all),
    "linf" (every coordinate by at most eps), "l2" (the Frobenius norm of the cloud's [N, 3]
    change), "point_l2" (each point's displacement length: what IF-Defense calls "L-inf"), or
    "unbounded" (anywhere finite: the attack penalises distance instead of bounding it).
    An attack may also append `points_added` new points after the originals (anywhere finite),
    or remove `points_dropped` of them (the rest unchanged, in any order), never both.
    `penalised` names the distances its objective trades against success (recorded, not bounded).
    `reordered` lets the points come back in another order, none moved (norm "none" only):
    encoders that sample from the first point (FPS) can change their verdict on order alone.
    """

    norm: str  # one of NORMS
    eps: float = 0.0
    points_added: int = 0
    points_dropped: int = 0
    penalised: tuple[str, ...] = ()
    reordered: bool = False

    def __post_init__(self) -> None:
        counts = integer(0, 1_000_000)
        rules: Rules = {
            "norm": one_of(*NORMS),
            "eps": EPS,
            "points_added": counts,
            "points_dropped": counts,
        }
        require(self, "threat_model", rules)
        if self.points_added and self.points_dropped:
            raise ValueError("A threat model may add points or drop points, not both.")
        if self.reordered and (self.norm != "none" or self.points_added or self.points_dropped):
            raise ValueError("A threat model that reorders points may change nothing else.")

    @property
    def bounded(self) -> bool:
        """Whether the budget limits the attack (else a strong attack reaches about 0%)."""
        return self.norm != "unbounded" and not self.points_added

    def explain(self) -> str:
        """One sentence for `bench show`: what the ball bounds, in words."""
        text = NORM_MEANINGS[self.norm]
        if self.norm in ("linf", "l2", "point_l2"):
            text = f"{text.replace('eps', f'{self.eps:g}', 1)}"
        extra = [f"{self.points_added} points added"] if self.points_added else []
        extra += [f"{self.points_dropped} points dropped"] if self.points_dropped else []
        extra += [f"{name} penalised" for name in self.penalised]
        extra += ["the points may come back in any order"] if self.reordered else []
        return "; ".join([text, *extra])

    def describe(self) -> str:
        """One line for tables, e.g. "linf 0.005" or "+512 points, chamfer penalty"."""
        parts = []
        if self.norm != "none":
            parts.append(self.norm if self.norm == "unbounded" else f"{self.norm} {self.eps:g}")
        if self.points_added:
            parts.append(f"+{self.points_added} points")
        if self.points_dropped:
            parts.append(f"-{self.points_dropped} points")
        if self.penalised:
            parts.append(" + ".join(self.penalised) + " penalty")
        if self.reordered:
            parts.append("points reordered")
        return ", ".join(parts) or "no change"


@dataclass
class AttackOutput:
    """Adversarial clouds plus per-sample statistics (tensors of shape [B])."""

    points: torch.Tensor
    gradient_queries: int = 0  # forward+backward passes per sample (at most)
    stats: dict[str, torch.Tensor] = field(default_factory=dict)


ACCESS = ("gradient", "scores", "transfer", "random", "none")


class Attack(Plugin[C], UsesAuxiliary):
    """Turns clean clouds into adversarial ones against a victim, never mutating the input.

    `access` is what the attack uses of the victim: "gradient" (white-box), "scores" (logits
    only: gradient-free), "transfer" (gradients of another model), "random" (nothing: a
    noise baseline) or "none" (the clean evaluation). A non-gradient attack that beats a
    gradient one flags gradient masking.
    """

    access: ClassVar[str] = "gradient"

    @classmethod
    def contract_problems(cls) -> list[str]:
        problems = super().contract_problems()
        if cls.access not in ACCESS:
            problems.append(f"its access {cls.access!r} is none of {', '.join(ACCESS)}")
        members = inspect.getattr_static(cls, "members", None)
        if members is not None and not isinstance(members, property):
            problems.append(
                "its members (a composite attack's sequence) must be a property giving"
                " (label, attack) pairs for its config"
            )
        return problems

    @abstractmethod
    def threat_model(self) -> ThreatModel: ...

    @abstractmethod
    def run(
        self,
        victim: Victim,
        points: torch.Tensor,
        labels: torch.Tensor,
        generator: RandomSource,
    ) -> AttackOutput:
        """Attack a batch; all randomness comes from `generator`.

        Draw it through `bench.contracts.randomness` (`rand`, `randn`, `randint` with a leading
        batch dimension): in a cell it is one stream per sample, so outcomes do not depend on
        the batch size.
        """
        ...

    def extra_classes(self) -> tuple[str, ...]:
        """Class names the victim must classify beside the evaluated ones (an open-vocabulary
        target): a cell appends them after the evaluated names, and no cloud is labelled with
        them. Most attacks need none."""
        return ()


def victim_names(evaluated: tuple[str, ...], attack: Attack[Any]) -> tuple[str, ...]:
    """The names a cell's victim classifies: the evaluated ones, then the attack's extra ones
    (an open-vocabulary target), which must be new names."""
    extra = attack.extra_classes()
    clash = sorted(set(extra) & set(evaluated))
    if clash:
        raise ConfigError(
            f"The attack's extra class {clash[0]!r} is already an evaluated class; an"
            " open-vocabulary target must be a name outside the evaluated set."
        )
    return evaluated + tuple(extra)


class Dataset(Plugin[C]):
    """A deterministic, fingerprinted list of (points, label) with class names."""

    @abstractmethod
    def load(self, split: str) -> CloudSet: ...


class Defense(Plugin[C], UsesAuxiliary):
    """A map points -> points applied in front of the victim, inside every call.

    A `randomized` defense draws all its randomness from the `generator` it is given, afresh at
    each call (one draw per row), so EOT and majority votes average over it. A defense that is
    not `differentiable` runs without gradient; attacks then follow `surrogate` (BPDA), unless
    its config sets `bpda: false` (a deliberately naive evaluation, flagged by the indicators).
    """

    differentiable: ClassVar[bool] = True
    randomized: ClassVar[bool] = False

    @abstractmethod
    def apply(self, points: torch.Tensor, generator: RandomSource) -> torch.Tensor: ...

    def surrogate(self, points: torch.Tensor, defended: torch.Tensor) -> torch.Tensor:
        """BPDA (Athalye et al., 2018): `defended` in the forward pass, a usable gradient back.

        The default is the straight-through identity, for defenses that keep the point count.
        """
        if defended.shape != points.shape:
            raise NotImplementedError(
                f"{type(self).__name__} changes the point count; it must define its own surrogate."
            )
        return points + (defended - points).detach()

    @property
    def uses_bpda(self) -> bool:
        """Whether attacks see the surrogate's gradient (non-differentiable defenses only)."""
        return not self.differentiable and bool(getattr(self.config, "bpda", True))


class TextEncoder(Plugin[C]):
    """Turns texts into embeddings; the teacher of zero-shot distillation."""

    @abstractmethod
    def identity(self) -> str:
        """Encoder name plus a hash of its weights: the text-embedding cache key."""
        ...

    @abstractmethod
    def encode(self, texts: list[str]) -> np.ndarray:
        """Float32 embeddings [len(texts), D] (not necessarily unit norm)."""
        ...

    def published_class_embeddings(self, class_names: list[str]) -> np.ndarray | None:
        """Class embeddings read from a file the authors published, in this order, or None
        (the default): then the class embeddings are made from prompts by `encode`."""
        return None


class Method(Plugin[C]):
    """A zero-shot point-cloud recognizer: point encoder, preprocessing and training recipe.

    The config must carry `text_encoder`, `templates` and `logit_scale` fields: the teacher space
    the encoder was trained into and the explicit scale applied to cosine logits.

    A method whose forward pass draws noise sets `stochastic` (a class attribute, or a property
    when it depends on the config). Its encoder then takes every random number from a
    `generator` keyword argument (a `bench.contracts.randomness` source: draw through that
    module's functions, batch first, so per-sample streams work); it may also take `draws=E`
    and return [E, B, embed_dim] for E independent draws, sharing the work they have in common.
    """

    # Config fields that act only at inference; trained weights are shared across their values.
    inference_only: ClassVar[frozenset[str]] = frozenset()
    # Published checkpoints (`--weights NAME`, `--weights official` for the first one).
    releases: ClassVar[Mapping[str, Release]] = {}
    # False for a method the harness only evaluates from released weights: `train` is refused.
    miniature: ClassVar[bool] = True

    @classmethod
    def contract_problems(cls) -> list[str]:
        problems = super().contract_problems()
        fields = _config_fields(cls.Config)
        missing = [f for f in ("text_encoder", "templates", "logit_scale") if f not in fields]
        if missing:
            problems.append(
                f"its Config needs the teacher fields {', '.join(missing)} (the text encoder it"
                " was trained toward, its prompt templates and the logit scale)"
            )
        if not set(cls.inference_only) <= fields:
            problems.append(
                f"its inference_only {sorted(set(cls.inference_only) - fields)} are not Config"
                " fields"
            )
        for name, release in cls.releases.items():
            if not isinstance(release, Release) or release.name != name:
                problems.append(f"its release {name!r} must be a Release named {name!r}")
            elif not isinstance(release.config, cls.Config):
                problems.append(f"its release {name!r} has no {cls.Config.__name__} config")
        return problems

    @property
    def stochastic(self) -> bool:
        """Whether two forward passes on the same input may differ."""
        return False

    @abstractmethod
    def build_encoder(self, embed_dim: int) -> torch.nn.Module:
        """The untrained encoder: preprocessed points [B, N, C] -> embeddings [B, embed_dim]."""
        ...

    @abstractmethod
    def preprocess(self, points: torch.Tensor) -> torch.Tensor:
        """The method's own differentiable input pipeline (point count, normalisation, channels)."""
        ...

    @abstractmethod
    def train(self, ctx: TrainContext) -> torch.nn.Module:
        """The miniature recipe: train the encoder on `ctx.data` toward the teacher embeddings."""
        ...


METHODS: Registry[type[Method[Any]]] = Registry("method", Method, ("baselines", "methods"))
ATTACKS: Registry[type[Attack[Any]]] = Registry("attack", Attack, ("attacks",))
DATASETS: Registry[type[Dataset[Any]]] = Registry("dataset", Dataset, ("bench.datasets",))
DEFENSES: Registry[type[Defense[Any]]] = Registry("defense", Defense, ("bench.defenses",))
TEXT_ENCODERS: Registry[type[TextEncoder[Any]]] = Registry(
    "text_encoder", TextEncoder, ("bench.text_encoders",)
)
REGISTRIES = {r.plural: r for r in (METHODS, ATTACKS, DATASETS, DEFENSES, TEXT_ENCODERS)}
