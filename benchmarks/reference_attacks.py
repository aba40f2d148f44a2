"""Our point drop, kNN and AdvPC beside the reference code, on one victim, clouds and budget.

The Bag-of-Tricks benchmark (qiufan319/benchmark_pc_attack, ICCV 2023) runs the field's
reference ports: IF-Defense's (Wu et al., ICLR 2021) saliency point drop (Zheng et al., ICCV
2019) and kNN (Tsai et al., AAAI 2020), and its own AdvPC (Hamdi et al., ECCV 2020). This
script imports them from a checkout given on the command line (nothing of theirs is copied
here; an IF-Defense checkout works too, without AdvPC), runs them and ours on the ulip
miniature (seed 0, the home's cached weights, trained if absent) and its first `--clouds`
clean-correct clouds of the unseen classes of procedural40, untargeted, on one thread, and
writes each run's successes, distortion and wall time to a JSON file that `docs/generate.py`
renders in docs/attacks.md. Each side runs as its own scripts configure it:

- point drop: 200 points in rounds of 5, saliency alpha 1 (`untargeted_drop_attack.py`);
- kNN: Adam 0.001, margin kappa 15, per-point clip 0.1, `--knn-steps` iterations (the scripts
  default to 2,500), Chamfer 5 and kNN 3 (`targeted_knn_attack.py`), with the checkout's
  untargeted margin loss (IF-Defense has none: the same loss is given here);
- AdvPC: Adam 0.01, per-point clip 0.18, `--advpc-steps` iterations and one restart (their
  second "binary step" restarts identically), their script's kappa 30 and gamma 0.25, through
  the very autoencoder our AdvPC uses (the one its cell trains on the victim's corpus);
- each returned cloud is also judged behind SOR (k 2, alpha 1.1): an attack whose clouds
  barely cross the boundary loses them to any small change.

Their code calls `.cuda()` on the model and on tensors; on a machine without a GPU this script
makes those calls return their argument, so their code runs unchanged on the CPU.

    python benchmarks/reference_attacks.py --reference PATH/TO/benchmark_pc_attack
        [--clouds 100] [--knn-steps 100] [--advpc-steps 50] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

import bench
from bench.adversarial.losses import margin
from bench.api.victim import state_sha256
from bench.defenses.sor import SOR, SORConfig
from bench.evaluation.metrics import perturbation_metrics

OUT = Path(__file__).resolve().parent / "reference_attacks.json"
DROP_POINTS, DROP_PER_ROUND = 200, 5
KNN_KAPPA, KNN_CLIP, KNN_LR = 15.0, 0.1, 0.001
ADVPC_KAPPA, ADVPC_GAMMA, ADVPC_CLIP, ADVPC_LR = 30.0, 0.25, 0.18, 0.01  # their script's


@contextmanager
def cuda_calls_stay_on_cpu() -> Iterator[None]:
    """`.cuda()` on tensors and modules returns them unchanged while inside."""
    saved = torch.Tensor.cuda, torch.nn.Module.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.Tensor.cuda, torch.nn.Module.cuda = saved  # type: ignore[method-assign]


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


def reference_attacks(
    checkout: Path, model: torch.nn.Module, autoencoder: torch.nn.Module, steps: dict[str, int]
) -> dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """Their attacks, configured as their scripts configure them, as clouds -> adversarial."""
    sys.path.insert(0, str(checkout / "baselines"))
    import attack as reference

    margin = getattr(reference, "UntargetedLogitsAdvLoss", UntargetedMargin)
    drop = reference.SaliencyDrop(model, num_drop=DROP_POINTS, alpha=1, k=DROP_PER_ROUND)
    knn = reference.CWKNN(
        model,
        margin(kappa=KNN_KAPPA),
        reference.ChamferkNNDist(
            chamfer_method="adv2ori", knn_k=5, knn_alpha=1.05, chamfer_weight=5.0, knn_weight=3.0
        ),
        reference.ProjectInnerClipLinf(budget=KNN_CLIP),
        attack_lr=KNN_LR,
        num_iter=steps["knn"],
    )
    runs = {
        "point_drop": lambda points, labels: drop.attack(points, labels)[0],
        "knn": lambda points, labels: knn.attack(points, labels)[0],
    }
    if hasattr(reference, "CWAdvPC"):
        advpc = reference.CWAdvPC(
            model,
            ChannelsFirstCloud(autoencoder),
            margin(kappa=ADVPC_KAPPA),
            reference.ChamferDist(),
            attack_lr=ADVPC_LR,
            binary_step=1,
            num_iter=steps["advpc"],
            GAMMA=ADVPC_GAMMA,
            clip_func=reference.ClipPointsLinf(budget=ADVPC_CLIP),
        )
        runs["advpc"] = lambda points, labels: advpc.attack(points, labels, labels)[1]
    return {name: _as_tensor(run) for name, run in runs.items()}


def _as_tensor(
    run: Callable[[torch.Tensor, torch.Tensor], Any],
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    return lambda points, labels: torch.as_tensor(run(points, labels), dtype=points.dtype)


def outcome(
    victim: Callable[[torch.Tensor], torch.Tensor],
    clean: torch.Tensor,
    adversarial: torch.Tensor,
    labels: torch.Tensor,
    seconds: float,
    autoencoder: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """Clouds fooled bare, behind SOR and (AdvPC) through the autoencoder, the returned clouds'
    distortion, and the time."""
    sor = SOR(SORConfig(k=2, alpha=1.1))
    with torch.no_grad():
        logits = victim(adversarial)
        unused = torch.Generator().manual_seed(0)  # SOR draws nothing
        behind_sor = victim(sor.apply(adversarial, unused))
    sizes = perturbation_metrics(clean, adversarial)
    through = {}
    if autoencoder is not None:
        with torch.no_grad():
            reconstructed = victim(autoencoder(adversarial))
        through["fooled_through_autoencoder"] = int((reconstructed.argmax(dim=1) != labels).sum())
    return {
        "fooled": int((logits.argmax(dim=1) != labels).sum()),
        "fooled_behind_sor": int((behind_sor.argmax(dim=1) != labels).sum()),
        "median_margin": float(raw_margin(logits, labels).median()),
        "points": int(adversarial.shape[1]),
        "chamfer_sq_two_sided_mean": float(sizes["chamfer_sq_two_sided"].mean()),
        "seconds": round(seconds, 1),
    } | through


def reference_name(checkout: Path) -> str:
    """Which reference code ran: the checkout's folder name and its git commit, if it has one."""
    found = subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    commit = found.stdout.strip() if found.returncode == 0 else ""
    return checkout.resolve().name + (f" at {commit[:12]}" if commit else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference", type=Path, required=True, help="a benchmark_pc_attack or IF-Defense checkout"
    )
    parser.add_argument("--clouds", type=int, default=100)
    parser.add_argument("--knn-steps", type=int, default=100)
    parser.add_argument("--advpc-steps", type=int, default=50)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    method = bench.load_method("ulip", seed=0)
    data = bench.load_dataset("procedural40", "test", classes="unseen", trained_on=method)
    victim = method.victim(data.class_names)
    with torch.no_grad():
        correct = victim(data.points).argmax(dim=1) == data.labels
    chosen = correct.nonzero().squeeze(1)[: args.clouds]
    points, labels = data.points[chosen], data.labels[chosen]
    ids = [data.ids[i] for i in chosen.tolist()]
    steps = {"knn": args.knn_steps, "advpc": args.advpc_steps}
    ours = {
        "point_drop": bench.attacks.get("point_drop", points=DROP_POINTS, per_round=DROP_PER_ROUND),
        "knn": bench.attacks.get("knn", steps=steps["knn"]),
        "advpc": method.ready(bench.attacks.get("advpc", steps=steps["advpc"]), data),
    }
    autoencoder = ours["advpc"].auxiliary
    assert autoencoder is not None, "Method.ready binds AdvPC's autoencoder"
    runs = []
    with cuda_calls_stay_on_cpu():
        theirs = reference_attacks(args.reference, ChannelsFirst(victim), autoencoder, steps)
        for name in theirs:
            start = time.perf_counter()
            adversarial = theirs[name](points, labels)
            elapsed = time.perf_counter() - start
            runs.append({"attack": name, "implementation": "reference"})
            network = autoencoder if name == "advpc" else None
            runs[-1] |= outcome(victim, points, adversarial, labels, elapsed, network)
            start = time.perf_counter()
            output = ours[name](victim, points, labels, seed=0, ids=ids)
            elapsed = time.perf_counter() - start
            runs.append({"attack": name, "implementation": "bench"})
            runs[-1] |= outcome(victim, points, output.points, labels, elapsed, network)
            print(runs[-2], runs[-1], sep="\n", flush=True)
    report = {
        "victim": "ulip miniature, seed 0",
        "encoder_sha256": state_sha256(victim.encoder),
        "dataset": "procedural40, unseen classes",
        "clouds": len(chosen),
        "threads": 1,
        "reference": reference_name(args.reference),
        "steps": steps,
        "drop": {"points": DROP_POINTS, "per_round": DROP_PER_ROUND},
        "runs": runs,
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
