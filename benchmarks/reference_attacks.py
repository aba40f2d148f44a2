"""Our attacks beside the reference code, on one victim, clouds and budget.

The Bag-of-Tricks benchmark (qiufan319/benchmark_pc_attack, ICCV 2023) runs the field's
reference ports: IF-Defense's (Wu et al., ICLR 2021) saliency point drop (Zheng et al., ICCV
2019), kNN (Tsai et al., AAAI 2020) and C&W (Xiang et al., CVPR 2019), its own AdvPC (Hamdi et
al., ECCV 2020), SI-Adv (Huang et al., CVPR 2022) and AOF (Liu and Hu, TPAMI 2022). This script
imports them from a checkout given on the command line (nothing of theirs is copied here; an
IF-Defense checkout works too, for point drop, kNN and C&W), runs them and ours on the ulip
miniature (seed 0, the home's cached weights, trained if absent) and its first `--clouds`
clean-correct clouds of the unseen classes of procedural40, on one thread, and writes each
run's successes, distortion and wall time to a JSON file that `docs/generate.py` renders in
docs/attacks.md. Each side runs as its own scripts configure it:

- point drop: 200 points in rounds of 5, saliency alpha 1 (`untargeted_drop_attack.py`);
- kNN: Adam 0.001, margin kappa 15, per-point clip 0.1, `--knn-steps` iterations (the scripts
  default to 2,500), Chamfer 5 and kNN 3 (`targeted_knn_attack.py`), with the checkout's
  untargeted margin loss (IF-Defense has none: the same loss is given here);
- C&W, targeted: Adam 0.01, lambda 10 in [0, 80], margin kappa 0, `--cw-binary-steps` x
  `--cw-steps` (the scripts default to 10 x 500), each cloud's target the random other class
  ours drew. Their kept-iterate rule (prediction equal to the label argument) is the targeted
  one, so only a targeted run compares like with like;
- AdvPC: Adam 0.01, per-point clip 0.18, `--advpc-steps` iterations and one restart (their
  second "binary step" restarts identically), their script's kappa 30 and gamma 0.25, through
  the very autoencoder our AdvPC uses (the one its cell trains on the victim's corpus);
- SI-Adv: their `shape_invariant_ifgm`, one cloud at a time as their script runs it, at their
  script's setting (L-inf 0.16, 50 steps of 0.07) and at a budget small enough to tell
  attacks apart (L-inf 0.002, 100 steps of 0.0002); it needs Open3D;
- AOF: the `attack` function of their script, per-point clip 0.18 and 0.005, `--aof-steps`
  iterations (the script defaults to 200) and their two restarts, low pass 100, kappa 30,
  batches of 16;
- each returned cloud is also judged behind SOR (k 2, alpha 1.1): an attack whose clouds
  barely cross the boundary loses them to any small change.

Their code runs unchanged on the CPU through the adapters of `reference_adapters.py`, whose
docstring says what each is given.

    python benchmarks/reference_attacks.py --reference PATH/TO/benchmark_pc_attack
        [--clouds 100] [--knn-steps 100] [--cw-binary-steps 3] [--cw-steps 30]
        [--advpc-steps 50] [--aof-steps 50] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from reference_adapters import (  # the sibling module: run as a file, its folder is on the path
    ChannelsFirst,
    ChannelsFirstCloud,
    Run,
    UntargetedMargin,
    aof_fallback,
    cuda_calls_stay_on_cpu,
    import_reference,
    raw_margin,
    reference_aof,
    reference_si_adv,
)

import bench
from bench.api.victim import state_sha256
from bench.contracts.plugins import Attack
from bench.defenses.sor import SOR, SORConfig
from bench.evaluation.metrics import perturbation_metrics

OUT = Path(__file__).resolve().parent / "reference_attacks.json"
DROP_POINTS, DROP_PER_ROUND = 200, 5
KNN_KAPPA, KNN_CLIP, KNN_LR = 15.0, 0.1, 0.001
CW_LR, CW_LAMBDA, CW_MAX_LAMBDA = 0.01, 10.0, 80.0
ADVPC_KAPPA, ADVPC_GAMMA, ADVPC_CLIP, ADVPC_LR = 30.0, 0.25, 0.18, 0.01  # their script's
# SI-Adv (eps, step size, steps): their script's setting, then one that tells attacks apart.
SI_ADV_SETTINGS = ((0.16, 0.07, 50), (0.002, 0.0002, 100))
AOF_BUDGETS = (0.18, 0.005)


@dataclass(frozen=True)
class Comparison:
    """One attack at one setting: theirs and ours, and what judges the returned clouds."""

    attack: str
    setting: str
    ours: Attack[Any]
    theirs: Run
    targeted: bool = False
    autoencoder: torch.nn.Module | None = None
    # What their code returns for a cloud it never fooled, where that is not the last iterate.
    fallback: Callable[[torch.Tensor], torch.Tensor] | None = None


def comparisons(
    checkout: Path,
    victim: Callable[[torch.Tensor], torch.Tensor],
    classes: int,
    ours: dict[str, Attack[Any]],
    steps: dict[str, int],
) -> list[Comparison]:
    """Every attack the checkout has, theirs configured as their scripts configure it beside
    ours at the same setting."""
    reference = import_reference(checkout)
    model = ChannelsFirst(victim)
    margin_loss = getattr(reference, "UntargetedLogitsAdvLoss", UntargetedMargin)
    drop = reference.SaliencyDrop(model, num_drop=DROP_POINTS, alpha=1, k=DROP_PER_ROUND)
    knn = reference.CWKNN(
        model,
        margin_loss(kappa=KNN_KAPPA),
        reference.ChamferkNNDist(
            chamfer_method="adv2ori", knn_k=5, knn_alpha=1.05, chamfer_weight=5.0, knn_weight=3.0
        ),
        reference.ProjectInnerClipLinf(budget=KNN_CLIP),
        attack_lr=KNN_LR,
        num_iter=steps["knn"],
    )
    cw = reference.CWPerturb(
        model,
        reference.LogitsAdvLoss(kappa=0.0),
        reference.L2Dist(),
        attack_lr=CW_LR,
        init_weight=CW_LAMBDA,
        max_weight=CW_MAX_LAMBDA,
        binary_step=steps["cw_binary"],
        num_iter=steps["cw"],
    )
    found = [
        Comparison(
            "point_drop",
            f"{DROP_POINTS} points, {DROP_PER_ROUND} per round",
            ours["point_drop"],
            lambda points, labels: drop.attack(points, labels)[0],
        ),
        Comparison(
            "knn",
            f"{steps['knn']} steps",
            ours["knn"],
            lambda points, labels: knn.attack(points, labels)[0],
        ),
        Comparison(
            "cw",
            f"targeted, {steps['cw_binary']} x {steps['cw']} steps",
            ours["cw"],
            lambda points, targets: cw.attack(points, targets)[1],
            targeted=True,
        ),
    ]
    if hasattr(reference, "CWAdvPC"):
        autoencoder = ours["advpc"].auxiliary
        advpc = reference.CWAdvPC(
            model,
            ChannelsFirstCloud(autoencoder),
            margin_loss(kappa=ADVPC_KAPPA),
            reference.ChamferDist(),
            attack_lr=ADVPC_LR,
            binary_step=1,
            num_iter=steps["advpc"],
            GAMMA=ADVPC_GAMMA,
            clip_func=reference.ClipPointsLinf(budget=ADVPC_CLIP),
        )
        found.append(
            Comparison(
                "advpc",
                f"per-point {ADVPC_CLIP}, {steps['advpc']} steps",
                ours["advpc"],
                lambda points, labels: advpc.attack(points, labels, labels)[1],
                autoencoder=autoencoder,
            )
        )
    if (checkout / "baselines" / "attack" / "SIA").is_dir():
        for eps, step, count in SI_ADV_SETTINGS:
            run = reference_si_adv(model, classes, eps, step, count)
            if run is None:  # its module does not load here (it said why)
                break
            mine = bench.attacks.get("si_adv", eps=eps, step_size=step, steps=count)
            setting = f"L-inf {eps}, {count} steps of {step}"
            found.append(Comparison("si_adv", setting, mine, run))
    if (checkout / "baselines" / "attack_scripts" / "AOF.py").is_file():
        for eps in AOF_BUDGETS:
            run = reference_aof(checkout, model, reference, eps, steps["aof"])
            mine = bench.attacks.get("aof", eps=eps, steps=steps["aof"])
            setting = f"per-point {eps}, {steps['aof']} steps"
            fallback = aof_fallback(reference.ClipPointsLinf(budget=eps))
            found.append(Comparison("aof", setting, mine, run, fallback=fallback))
    return found


def outcome(
    victim: Callable[[torch.Tensor], torch.Tensor],
    clean: torch.Tensor,
    adversarial: torch.Tensor,
    labels: torch.Tensor,
    seconds: float,
    comparison: Comparison,
    targets: torch.Tensor | None,
) -> dict[str, Any]:
    """Clouds fooled bare, behind SOR, (AdvPC) through the autoencoder and (targeted) into
    their target, the returned clouds' distortion, and the time."""
    sor = SOR(SORConfig(k=2, alpha=1.1))
    adversarial = torch.as_tensor(adversarial, dtype=clean.dtype)
    with torch.no_grad():
        logits = victim(adversarial)
        unused = torch.Generator().manual_seed(0)  # SOR draws nothing
        behind_sor = victim(sor.apply(adversarial, unused))
    sizes = perturbation_metrics(clean, adversarial)
    extra = {}
    if comparison.autoencoder is not None:
        with torch.no_grad():
            reconstructed = victim(comparison.autoencoder(adversarial))
        extra["fooled_through_autoencoder"] = int((reconstructed.argmax(dim=1) != labels).sum())
    if comparison.fallback is not None:
        pulled = comparison.fallback(clean)
        extra["returned_fallback"] = int(
            ((adversarial - pulled).abs().amax(dim=(1, 2)) < 1e-5).sum()
        )
    if targets is not None:
        extra["reached_target"] = int((logits.argmax(dim=1) == targets).sum())
    return {
        "fooled": int((logits.argmax(dim=1) != labels).sum()),
        "fooled_behind_sor": int((behind_sor.argmax(dim=1) != labels).sum()),
        "median_margin": float(raw_margin(logits, labels).median()),
        "points": int(adversarial.shape[1]),
        "chamfer_sq_two_sided_mean": float(sizes["chamfer_sq_two_sided"].mean()),
        "seconds": round(seconds, 1),
    } | extra


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
    parser.add_argument("--cw-binary-steps", type=int, default=3)
    parser.add_argument("--cw-steps", type=int, default=30)
    parser.add_argument("--advpc-steps", type=int, default=50)
    parser.add_argument("--aof-steps", type=int, default=50)
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
    steps = {
        "knn": args.knn_steps,
        "cw_binary": args.cw_binary_steps,
        "cw": args.cw_steps,
        "advpc": args.advpc_steps,
        "aof": args.aof_steps,
    }
    ours: dict[str, Attack[Any]] = {
        "point_drop": bench.attacks.get("point_drop", points=DROP_POINTS, per_round=DROP_PER_ROUND),
        "knn": bench.attacks.get("knn", steps=steps["knn"]),
        "cw": bench.attacks.get(
            "cw", binary_steps=steps["cw_binary"], steps=steps["cw"], targeted=True
        ),
        "advpc": method.ready(bench.attacks.get("advpc", steps=steps["advpc"]), data),
    }
    runs = []
    with cuda_calls_stay_on_cpu():
        for comparison in comparisons(args.reference, victim, len(data.class_names), ours, steps):
            start = time.perf_counter()
            output = comparison.ours(victim, points, labels, seed=0, ids=ids)
            mine = time.perf_counter() - start
            targets = output.stats["target"] if comparison.targeted else None
            start = time.perf_counter()
            theirs = comparison.theirs(points, labels if targets is None else targets)
            elapsed = time.perf_counter() - start
            for implementation, adversarial, seconds in (
                ("reference", theirs, elapsed),
                ("bench", output.points, mine),
            ):
                run = {"attack": comparison.attack, "setting": comparison.setting}
                run["implementation"] = implementation
                run |= outcome(victim, points, adversarial, labels, seconds, comparison, targets)
                runs.append(run)
                print(run, flush=True)
    report = {
        "victim": "ulip miniature, seed 0",
        "encoder_sha256": state_sha256(victim.encoder),
        "dataset": "procedural40, unseen classes",
        "clouds": len(chosen),
        "threads": 1,
        "reference": reference_name(args.reference),
        "runs": runs,
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
