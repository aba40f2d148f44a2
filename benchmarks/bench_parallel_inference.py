"""Cost of dual_denoise's parallel noise inference (K = 8 copies) relative to the same model with
the feature denoiser off (target <= 1.3).

Both sides are one `DualDenoiseEncoder` (default miniature config, seeded random weights; the
cost does not depend on the weight values) at batch 32 x 1024 points: "off" is the backbone and
its projected estimate y (what the `feature_denoiser: false` ablation classifies with), "K=8" is
the full zero-shot embedding, whose K noisy copies share the backbone pass and run as one batched
denoiser call. Forward passes are timed without and with the input gradient an attack needs;
the sides are interleaved so slow phases caused by other processes hit both, and the ratio of
medians is printed. EOT's 16 draws x 8 copies in one call are timed too, for information.

    python benchmarks/bench_parallel_inference.py [--repeats 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from methods.dual_denoise.config import DualDenoiseConfig
from methods.dual_denoise.model import DualDenoiseEncoder

BATCH, POINTS, EMBED_DIM = 32, 1024, 384
TARGET = 1.3


def timed(run: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor, grad: bool) -> float:
    """Seconds for one embedding of the batch (and its input gradient when `grad`)."""
    start = time.perf_counter()
    if grad:
        inputs = points.clone().requires_grad_(True)
        torch.autograd.grad(run(inputs).sum(), inputs)
    else:
        with torch.no_grad():
            run(points)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    model = DualDenoiseEncoder(DualDenoiseConfig(copies=8), EMBED_DIM).eval()
    generator = torch.Generator().manual_seed(1)
    points = torch.randn(BATCH, POINTS, 3, generator=generator)
    points = points / points.norm(dim=-1, keepdim=True)
    sides: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "denoiser off (y)": lambda x: model.features(x)[1],
        "K=8 copies": lambda x: model(x, generator=generator),
        "EOT: 16 draws x 8 copies": lambda x: model(x, generator=generator, draws=16),
    }
    print(f"batch {BATCH} x {POINTS} points, {args.threads} thread(s), {args.repeats} samples")
    for grad in (False, True):
        for run in sides.values():
            timed(run, points, grad)  # warm-up
        samples: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.repeats):
            for name, run in sides.items():
                samples[name].append(timed(run, points, grad))
        base = statistics.median(samples["denoiser off (y)"])
        print("forward + input gradient" if grad else "forward")
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"  {name:<26} {1000 * median:8.1f} ms   ratio {median / base:.2f}")
        ratio = statistics.median(samples["K=8 copies"]) / base
        verdict = "meets" if ratio <= TARGET else "MISSES"
        print(f"  K=8 / off = {ratio:.2f}: {verdict} the target {TARGET}")


if __name__ == "__main__":
    main()
