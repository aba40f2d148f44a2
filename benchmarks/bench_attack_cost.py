"""Cost of one victim query inside each attack, relative to a bare forward+backward.

Targets: at most 1.2 for PGD, APGD, C&W and the open-vocabulary target; at most 1.5 for
kNN, point addition, SI-Adv and AOF, whose distance, normal and spectral terms are extra
work. The victim is the miniature Point-BERT encoder (the `ulip`
defaults) with seeded random weights behind a 40-class zero-shot head (logit scale 100), at
batch 32 x 1024 points. The labels are the victim's own predictions and the L-inf attacks get
a budget too small to flip any of them (the open-vocabulary target aims at a class none is
predicted as), so no sample leaves early and every query is on the whole batch.

Each attack runs for real; a forward pre-hook stamps every victim call, and the time between
consecutive calls is one whole iteration (forward, backward, the attack's own bookkeeping).
Bare passes and attack runs are interleaved, so slow phases caused by other processes hit
both sides, and the ratio of medians is printed. The gradient-free random search is compared
with a bare forward pass. The last column estimates each attack's `paper` preset on 100
clouds from the measured iteration time (4 batches of 32, no early stop: an upper bound).
Torch runs single-threaded by default: thread barriers make timings on a shared machine erratic.
kNN searches its penalties' neighbours only every `NEIGHBOUR_REFRESH` steps, so it runs two
such periods and its query cost is the mean over them (the search amortised), not the median.

    python benchmarks/bench_attack_cost.py [--repeats 3] [--steps 6] [--threads 1] [--only knn]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from dataclasses import replace
from typing import Any

import torch

from attacks.knn import NEIGHBOUR_REFRESH
from bench.contracts.plugins import ATTACKS
from bench.evaluation.victim import ZeroShotVictim
from bench.nn.backbone import MINIATURE, PointBertEncoder
from bench.testing.attack_checks import ready

BATCH, POINTS, CLASSES, PAPER_CLOUDS = 32, 1024, 40, 100
TINY = 1e-6  # an L-inf budget no prediction flips at
# (attack, settings for the timed run, target ratio)
ATTACKS_TIMED: tuple[tuple[str, dict[str, Any], float], ...] = (
    ("pgd", {"eps": TINY}, 1.2),
    ("apgd", {"eps": TINY}, 1.2),
    ("cw", {"binary_steps": 1}, 1.2),
    ("knn", {}, 1.5),
    ("point_add", {"binary_steps": 1}, 1.5),
    ("point_drop", {}, 1.5),
    ("random_search", {"eps": TINY}, 1.2),
    ("si_adv", {"eps": TINY}, 1.5),
    ("aof", {"eps": TINY}, 1.5),
    ("open_target", {"eps": TINY}, 1.2),
    ("advpc", {"eps": TINY}, 1.5),
)
# Victim queries per step where an attack makes more than one (the cloud, its reconstruction).
QUERIES_PER_STEP = {"advpc": 2}


def build_victim() -> ZeroShotVictim:
    """Miniature Point-BERT with seeded random weights and random unit class embeddings."""
    torch.manual_seed(0)
    encoder = PointBertEncoder(MINIATURE)
    embeddings = torch.nn.functional.normalize(torch.randn(CLASSES, MINIATURE.proj_dim), dim=-1)
    names = tuple(f"class {i}" for i in range(CLASSES))
    return ZeroShotVictim(encoder, torch.nn.Identity(), embeddings, names, logit_scale=100.0)


def bare(
    victim: ZeroShotVictim, points: torch.Tensor, labels: torch.Tensor, gradient: bool
) -> float:
    """Seconds for the reference: a forward pass and, with `gradient`, its input gradient."""
    start = time.perf_counter()
    inputs = points.clone().requires_grad_(gradient)
    with torch.set_grad_enabled(gradient):
        loss = torch.nn.functional.cross_entropy(victim(inputs), labels)
        if gradient:
            torch.autograd.grad(loss, inputs)
    return time.perf_counter() - start


def iterations(
    victim: ZeroShotVictim, attack: Any, points: torch.Tensor, labels: torch.Tensor
) -> list[float]:
    """Seconds between consecutive victim calls of one run, past its first two calls."""
    stamps: list[float] = []
    hook = victim.register_forward_pre_hook(lambda *_: stamps.append(time.perf_counter()))
    try:
        attack.run(victim, points, labels, torch.Generator().manual_seed(0))
    finally:
        hook.remove()
    return [later - earlier for earlier, later in zip(stamps[2:], stamps[3:], strict=False)]


def paper_queries(name: str) -> int:
    """Victim queries per batch of the attack's `paper` preset, or its default (no early
    stop)."""
    cls = ATTACKS.get(name).cls
    config = cls.presets.get("paper", cls.Config())
    steps = getattr(config, "steps", None) or math.ceil(config.points / config.per_round)
    runs = config.target_classes if getattr(config, "targeted", False) and name == "apgd" else 1
    return steps * getattr(config, "binary_steps", 1) * runs * QUERIES_PER_STEP.get(name, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="time only these attacks")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    victim = build_victim()
    generator = torch.Generator().manual_seed(1)
    points = torch.randn(BATCH, POINTS, 3, generator=generator)
    points = points / points.norm(dim=-1, keepdim=True)
    with torch.no_grad():
        labels = victim(points).argmax(dim=-1)
    print(f"victim: miniature Point-BERT, batch {BATCH} x {POINTS} points, {CLASSES} classes")
    print(f"torch threads: {torch.get_num_threads()}, {args.repeats} runs of {args.steps} steps")
    print("| Attack | Query (ms) | Bare (ms) | Ratio | Target | Paper preset, 100 clouds (est.) |")
    print("|---|---|---|---|---|---|")
    for name, settings, target in ATTACKS_TIMED:
        if args.only and name not in args.only:
            continue
        cls = ATTACKS.get(name).cls
        if name == "open_target":  # toward a class no cloud is labelled with: none leaves early
            unused = min(set(range(CLASSES)) - set(labels.tolist()))
            settings = {**settings, "target_text": victim.class_names[unused]}
        config = replace(cls.Config(), **settings)
        amortised = name == "knn"
        steps = 2 * NEIGHBOUR_REFRESH if amortised else args.steps
        if name == "point_drop":
            config = replace(config, points=steps * config.per_round)
        else:
            config = replace(config, steps=steps)
        attack = ready(cls, config, POINTS)  # an auxiliary network (untrained) bound
        gradient = attack.access == "gradient"
        bare(victim, points, labels, gradient)  # warm-up
        attack.run(victim, points, labels, torch.Generator().manual_seed(0))
        references: list[float] = []
        queries: list[float] = []
        for _ in range(args.repeats):
            references += [bare(victim, points, labels, gradient) for _ in range(steps)]
            queries += iterations(victim, attack, points, labels)
        # Uneven intervals (a refresh every 10 steps; a reconstruction between two queries)
        # are averaged, not medianed.
        average = statistics.mean if amortised or name in QUERIES_PER_STEP else statistics.median
        query, reference = average(queries), statistics.median(references)
        batches = math.ceil(PAPER_CLOUDS / BATCH)
        paper = query * paper_queries(name) * batches
        print(
            f"| {name} | {query * 1e3:.1f} | {reference * 1e3:.1f} | {query / reference:.2f}"
            f" | {target} | {paper / 60:.1f} min |"
        )


if __name__ == "__main__":
    main()
