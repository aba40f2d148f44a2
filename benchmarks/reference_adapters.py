"""The reference attack code, made callable here: shims for what it expects of its machine,
and wrappers that give it the victim the way it calls a model.

Their code calls `.cuda()` on the model and on tensors and casts to `torch.cuda.FloatTensor`;
on a machine without a GPU, `cuda_calls_stay_on_cpu` makes those calls return their argument
and that type the CPU one, so their code runs unchanged on the CPU. Their SI-Adv file imports
`Iterable` from `collections` (moved to `collections.abc` in Python 3.10) and is given it
there. Their AOF
is a script whose imports (its own models and datasets, `torch._C._llvm_enabled`) do not load
outside their tree: its three functions are read from the file and run with the victim, the
clouds and their script's settings in their place, `torch.symeig` (removed from torch) as
`torch.linalg.eigh`, and `all_orig_pc`, a name its last line uses but never defines; it writes
its adversarial clouds to `baselines/result/AOF.npz` in a scratch folder, read back here.
"""

from __future__ import annotations

import ast
import collections
import collections.abc
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import torch

from bench.adversarial.losses import margin

AOF_KAPPA, AOF_LR, AOF_LOW_PASS, AOF_BATCH = 30.0, 0.01, 100, 16  # their script's

Run = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # clouds, classes -> adversarial


@contextmanager
def cuda_calls_stay_on_cpu() -> Iterator[None]:
    """`.cuda()` on tensors and modules returns them unchanged while inside, and
    `torch.cuda.FloatTensor` is the CPU float tensor type."""
    saved = torch.Tensor.cuda, torch.nn.Module.cuda, torch.cuda.FloatTensor
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
    torch.cuda.FloatTensor = torch.FloatTensor  # type: ignore[misc]
    try:
        yield
    finally:
        torch.Tensor.cuda, torch.nn.Module.cuda, torch.cuda.FloatTensor = saved  # type: ignore[method-assign, misc]


class ChannelsFirst(torch.nn.Module):
    """The victim as their attacks call a model: clouds [B, 3, N] in, logits out."""

    def __init__(self, victim: Callable[[torch.Tensor], torch.Tensor]) -> None:
        super().__init__()
        self.victim = victim

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return self.victim(points.transpose(1, 2))


class ChannelsFirstCloud(ChannelsFirst):
    """A cloud-to-cloud network (the autoencoder) as their attacks call it: [B, 3, N] both ways."""

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return super().forward(points).transpose(1, 2)


class LogitsInTuple(torch.nn.Module):
    """A model as their SI-Adv calls one: logits as the first item of a tuple (PointNet's)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, points: torch.Tensor) -> tuple[torch.Tensor]:
        return (self.model(points),)


class UntargetedMargin(torch.nn.Module):
    """Their `LogitsAdvLoss` aimed away from the true class: max(z_y - max_j!=y z_j + kappa, 0)."""

    def __init__(self, kappa: float) -> None:
        super().__init__()
        self.kappa = kappa

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (raw_margin(logits, labels) + self.kappa).clamp(min=0).mean()


def raw_margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """z_y - max_{j != y} z_j per cloud, unfloored (negative: fooled)."""
    return margin(logits.unsqueeze(0), labels, targeted=False, kappa=float("inf"))  # one draw


def import_reference(checkout: Path) -> ModuleType:
    """Their `attack` package (the folder `baselines/attack` of the checkout)."""
    sys.path.insert(0, str(checkout / "baselines"))
    import attack

    return attack


def reference_si_adv(
    model: torch.nn.Module, classes: int, eps: float, step: float, steps: int
) -> Run | None:
    """Their SI-Adv (`attack/SIA/attacks.py`), white box, one cloud at a time; None without
    Open3D, which it imports."""
    collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]
    try:
        from attack.SIA.attacks import PointCloudAttack  # type: ignore[import-not-found]
    except ModuleNotFoundError as missing:
        print(f"skipping the reference SI-Adv: its module needs {missing.name}", file=sys.stderr)
        return None
    settings = SimpleNamespace(
        device="cpu",
        eps=eps,
        step_size=step,
        max_steps=steps,
        num_class=classes,
        normal=False,
        top5_attack=False,
        transfer_attack_method="ifgm_ours",
        query_attack_method=None,
        defense_method=None,
    )
    attack = PointCloudAttack(settings, LogitsInTuple(model))

    def run(points: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [attack.run(points[i : i + 1], labels[i : i + 1])[0] for i in range(len(points))]
        )

    return run


def reference_aof(
    checkout: Path, model: torch.nn.Module, reference: ModuleType, eps: float, steps: int
) -> Run:
    """The `attack` function of their AOF script, with its globals supplied (module docstring)."""
    script = checkout / "baselines" / "attack_scripts" / "AOF.py"
    wanted = {"knn", "get_Laplace_from_pc", "attack"}
    tree = ast.parse(script.read_text(encoding="utf-8"))
    functions = [
        node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in wanted
    ]
    code = compile(ast.Module(body=functions, type_ignores=[]), str(script), "exec")

    def run(points: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        batches = [
            (points[i : i + AOF_BATCH], labels[i : i + AOF_BATCH], None)
            for i in range(0, len(points), AOF_BATCH)
        ]
        settings = SimpleNamespace(
            step=2,
            epochs=steps,
            lr=AOF_LR,
            low_pass=AOF_LOW_PASS,
            budget=eps,
            model="pointnet2",
            trans_model="pointnet2",
            batch_size=AOF_BATCH,
        )
        names: dict[str, Any] = {
            "torch": torch,
            "np": np,
            "optim": torch.optim,
            "time": time,
            "os": os,
            "tqdm": lambda loader: loader,
            "args": settings,
            "model": model,
            "trans_model": model,
            "test_loader": batches,
            "adv_func": reference.UntargetedLogitsAdvLoss(kappa=AOF_KAPPA),
            "clip_func": reference.ClipPointsLinf(budget=eps),
            "all_orig_pc": np.zeros(0),
        }
        exec(code, names)
        here, saved = Path.cwd(), getattr(torch, "symeig", None)
        torch.symeig = lambda matrix, eigenvectors=True: torch.linalg.eigh(matrix)  # type: ignore[attr-defined]
        with tempfile.TemporaryDirectory() as scratch:
            os.chdir(scratch)
            try:
                names["attack"]()
                written = np.load(Path("baselines", "result", "AOF.npz"))["test_pc"]
            finally:
                os.chdir(here)
                torch.symeig = saved  # type: ignore[attr-defined]
        return torch.from_numpy(written)

    return run


def aof_fallback(clip: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """Their AOF's cloud for a sample it never fooled: its kept iterate starts as all zeros and
    is clipped to the budget, so every point moves the budget's length toward the origin."""

    def pulled(clean: torch.Tensor) -> torch.Tensor:
        layout = clean.transpose(1, 2)
        return clip(torch.zeros_like(layout), layout).transpose(1, 2)

    return pulled
