"""Throughput of FPS + kNN grouping and of the miniature Point-BERT encoder, measured and printed.

Grouping is timed as the encoder runs it (FPS centres, centre gather, kNN, neighbour gather) on
unit-sphere clouds, at 1k points (64 groups x 32) and 10k points (512 x 32), batch 32. The
miniature encoder is timed at batch 32 x 1024 points: inference forward, a training step's
forward+backward (train mode, parameter gradients) and an attack's (eval mode, input gradient).
Each figure is the median over repeats after one warm-up; the minimum is shown too, because
other processes on a shared machine only ever add time, and the load average is printed so that
a contended run can be recognised (two OpenMP threads on two busy cores can run 10x slower).

    python benchmarks/bench_pointops.py [--device cpu] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

from bench.nn.backbone import MINIATURE, PointBertEncoder
from bench.nn.pointops import farthest_point_sample, gather, knn

BATCH = 32
GROUPING_CASES = ((1024, 64, 32), (10_000, 512, 32))  # points, groups, group size


def timings(work: Callable[[], object], device: torch.device, repeats: int) -> list[float]:
    """Wall seconds of `work` per repeat, after one warm-up, synchronising on CUDA."""

    def once() -> float:
        start = time.perf_counter()
        work()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    once()
    return [once() for _ in range(repeats)]


def report(label: str, seconds: list[float], clouds: int) -> None:
    median, best = statistics.median(seconds), min(seconds)
    print(
        f"{label:<44} {median * 1e3:9.1f} ms median ({best * 1e3:8.1f} min)"
        f"  {clouds / median:9.1f} clouds/s"
    )


def unit_sphere_clouds(num_points: int, device: torch.device) -> torch.Tensor:
    points = torch.randn(BATCH, num_points, 3, generator=torch.Generator().manual_seed(0))
    points = points - points.mean(dim=1, keepdim=True)
    return (points / points.norm(dim=-1).amax(dim=1)[:, None, None]).to(device)


def bench_grouping(device: torch.device, repeats: int) -> None:
    for num_points, groups, size in GROUPING_CASES:
        xyz = unit_sphere_clouds(num_points, device)
        centres = gather(xyz, farthest_point_sample(xyz, groups))

        def group(xyz: torch.Tensor = xyz, groups: int = groups, size: int = size) -> torch.Tensor:
            found = gather(xyz, farthest_point_sample(xyz, groups))
            return gather(xyz, knn(found, xyz, size)) - found.unsqueeze(2)

        def fps(xyz: torch.Tensor = xyz, groups: int = groups) -> torch.Tensor:
            return farthest_point_sample(xyz, groups)

        def neighbours(
            centres: torch.Tensor = centres, xyz: torch.Tensor = xyz, size: int = size
        ) -> torch.Tensor:
            return knn(centres, xyz, size)

        case = f"{num_points} pts, {groups}x{size}"
        report(f"FPS ({case})", timings(fps, device, repeats), BATCH)
        report(f"kNN ({case})", timings(neighbours, device, repeats), BATCH)
        report(f"FPS + kNN grouping ({case})", timings(group, device, repeats), BATCH)


def bench_miniature(device: torch.device, repeats: int) -> None:
    torch.manual_seed(0)
    model = PointBertEncoder(MINIATURE).to(device)
    points = unit_sphere_clouds(1024, device)
    count = sum(p.numel() for p in model.parameters())
    print(f"miniature: {MINIATURE}")
    print(f"miniature parameters: {count:,}")

    def inference() -> None:
        with torch.no_grad():
            model(points)

    def training_step() -> None:
        model.zero_grad(set_to_none=True)
        model(points).square().mean().backward()

    def attack_step() -> None:
        inputs = points.clone().requires_grad_(True)
        torch.autograd.grad(model(inputs).square().mean(), inputs)

    model.eval()
    report("miniature forward (eval, 32 x 1024)", timings(inference, device, repeats), BATCH)
    model.train()
    report("miniature fwd+bwd (train, param grads)", timings(training_step, device, repeats), BATCH)
    model.eval().requires_grad_(False)
    report("miniature fwd+bwd (eval, input grad)", timings(attack_step, device, repeats), BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads")
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    bench_grouping(device, args.repeats)
    bench_miniature(device, args.repeats)


if __name__ == "__main__":
    main()
