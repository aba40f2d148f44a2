"""Cost of one PGD step relative to a bare forward+backward of the same victim (target <= 1.15).

The victim is the miniature Point-BERT encoder with random weights behind a 40-class zero-shot
head (logit scale 100), at batch 32 x 1024 points. PGD steps are timed inside a real `run()`:
a forward pre-hook stamps every victim call, and the time between consecutive calls is one
whole step (forward, backward, step and projection). Bare forward+backward passes and PGD runs
are interleaved, so slow phases caused by other processes hit both sides, and the ratio of
medians is printed (the ratio of minima too, as a check). Torch runs single-threaded by default
because thread barriers make multi-threaded timings on a shared machine erratic.

    python benchmarks/bench_pgd_step.py [--repeats 5] [--steps 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from attacks.pgd import PGD, PGDConfig
from bench.evaluation.victim import Victim
from bench.nn.backbone import MINIATURE, PointBertEncoder

BATCH, POINTS, CLASSES = 32, 1024, 40
TARGET = 1.15


def build_victim() -> Victim:
    """Miniature Point-BERT with seeded random weights and random unit class embeddings."""
    torch.manual_seed(0)
    encoder = PointBertEncoder(MINIATURE)
    embeddings = torch.nn.functional.normalize(torch.randn(CLASSES, MINIATURE.proj_dim), dim=-1)
    names = tuple(f"class {i}" for i in range(CLASSES))
    return Victim(encoder, torch.nn.Identity(), embeddings, names, logit_scale=100.0)


def bare_step(victim: Victim, points: torch.Tensor, labels: torch.Tensor) -> float:
    """Seconds for the reference: a cross-entropy forward and its input gradient, nothing else."""
    start = time.perf_counter()
    inputs = points.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(victim(inputs), labels)
    torch.autograd.grad(loss, inputs)
    return time.perf_counter() - start


def pgd_steps(
    victim: Victim, points: torch.Tensor, labels: torch.Tensor, steps: int
) -> list[float]:
    """Seconds of each step of one PGD run, from the stamps of consecutive victim calls."""
    stamps: list[float] = []
    hook = victim.register_forward_pre_hook(lambda *_: stamps.append(time.perf_counter()))
    try:
        PGD(PGDConfig(steps=steps)).run(victim, points, labels, torch.Generator().manual_seed(0))
    finally:
        hook.remove()
    # stamps: clean evaluation, one per step, final evaluation; step k spans stamps k+1 -> k+2
    return [later - earlier for earlier, later in zip(stamps[1:], stamps[2:], strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    victim = build_victim()
    generator = torch.Generator().manual_seed(1)
    points = torch.randn(BATCH, POINTS, 3, generator=generator)
    points = points / points.norm(dim=-1, keepdim=True)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=generator)

    bare_step(victim, points, labels)  # warm-up
    bares: list[float] = []
    steps: list[float] = []
    for _ in range(args.repeats):
        bares.extend(bare_step(victim, points, labels) for _ in range(args.steps))
        steps.extend(pgd_steps(victim, points, labels, args.steps))
    bare, step = statistics.median(bares), statistics.median(steps)
    print(f"victim: miniature Point-BERT, batch {BATCH} x {POINTS} points, {CLASSES} classes")
    print(f"torch threads: {torch.get_num_threads()}, samples: {len(bares)} bare, {len(steps)} PGD")
    print(f"bare forward+backward: median {bare * 1e3:.1f} ms, min {min(bares) * 1e3:.1f} ms")
    print(f"PGD step:              median {step * 1e3:.1f} ms, min {min(steps) * 1e3:.1f} ms")
    print(f"ratio of minima: {min(steps) / min(bares):.3f}")
    print(f"PGD step / bare forward+backward (medians): {step / bare:.3f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
