"""The plugin contracts (methods, attacks, datasets, defenses, text encoders) and their registries.

A plugin is a class with a frozen `Config` dataclass (every field defaulted), an integer
`version` bumped whenever its results would change, and a `PluginInfo`. It is constructed from a
config instance. Plugins import only from `bench`; they never import the runner. Heavy imports
(torch and friends) happen inside methods so that listing plugins stays fast.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from bench.contracts.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import torch

    from bench.contracts.randomness import RandomSource
    from bench.datasets.cloudset import CloudSet
    from bench.evaluation.victim import Victim
    from bench.training.loop import TrainContext

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


@dataclass(frozen=True)
class ThreatModel:
    """What an attack may change; every adversarial example is checked against it before storing."""

    norm: str  # "none" (unchanged points), "linf" or "l2" (per-cloud norm of the coordinate change)
    eps: float = 0.0


@dataclass
class AttackOutput:
    """Adversarial clouds plus per-sample statistics (tensors of shape [B])."""

    points: torch.Tensor
    gradient_queries: int = 0  # forward+backward passes per sample (at most)
    stats: dict[str, torch.Tensor] = field(default_factory=dict)


class Attack(Plugin[C]):
    """Turns clean clouds into adversarial ones against a victim, never mutating the input."""

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


class Dataset(Plugin[C]):
    """A deterministic, fingerprinted list of (points, label) with class names."""

    @abstractmethod
    def load(self, split: str) -> CloudSet: ...


class Defense(Plugin[C]):
    """A map points -> points applied in front of the victim."""

    differentiable: ClassVar[bool] = True
    randomized: ClassVar[bool] = False

    @abstractmethod
    def apply(self, points: torch.Tensor) -> torch.Tensor: ...


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
    "text_encoder", TextEncoder, ("bench.text",)
)
REGISTRIES = {r.plural: r for r in (METHODS, ATTACKS, DATASETS, DEFENSES, TEXT_ENCODERS)}
