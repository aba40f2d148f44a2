"""The GPU path, checked in one run on a machine with an accelerator.

Four sections, each recorded whatever the others do (a failure is its sentence, not a crash):

- `agreement`: the embedded default end to end on `--device` (a ULIP miniature trained there,
  a PGD and an APGD cell), then the same cells on the CPU with the same weights: the share of
  samples whose clean and attacked predictions agree;
- `full_size`: full-size encoders in the released layouts (ULIP-2 Point-BERT, OpenShape G14,
  Uni3D-b, Uni3D-g), random weights, 10,000 xyz+rgb points: forward+backward time per batch
  (the input's gradient, as one PGD step takes it) and peak memory at batch 1, 8 and 32, and
  the time of FPS (512 centres) plus kNN grouping (32 neighbours) at batch 8 as a share of
  that batch's forward+backward;
- `torchrun`: `torchrun --nproc-per-node 1` training a miniature on the ShapeNet-55 stand-in
  (NCCL on a GPU, gloo on the CPU);
- `ray`: a cell run by the Ray executor on `--device`, and the device its record names.

It writes `summary.json` and `summary.md` to `--out`. `--quick` shrinks every section (one
small release at 1,024 points, batch 1, a few attack steps) so that the CPU part runs in the
test suite (`--device cpu --quick`).

    python benchmarks/gpu_check.py --device cuda --out docs/gpu [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from bench_pointops import timings  # the sibling script: run as a file, its folder is on the path

RELEASES = (
    "ulip2-pointbert-10k-xyzrgb",
    "openshape-pointbert-vitg14-rgb",
    "uni3d-b",
    "uni3d-g",
)
QUICK_RELEASES = ("uni3d-ti",)
CACHES = ("weights", "data", "embeddings", "hashes.json")
SMOKE = ["--set", "method.num_points=256", "--set", "method.num_groups=16",
         "--set", "method.group_size=16", "--set", "method.depth=1",
         "--set", "method.epochs=1"]  # fmt: skip


def bench(home: Path, *args: str, launcher: tuple[str, ...] = ()) -> str:
    """Run `bench` in `home`; its stdout, or a RuntimeError with the end of its stderr."""
    command = [sys.executable, *launcher, "-m", "bench.cli", "--home", str(home), *args]
    done = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ))
    if done.returncode != 0:
        raise RuntimeError(f"`bench {' '.join(args[:2])}` failed: {done.stderr[-600:]}")
    return done.stdout


def records(home: Path) -> dict[str, dict[str, Any]]:
    return {r["cell_hash"]: r for r in json.loads(bench(home, "results", "--format", "json"))}


def agreement(device: str, quick: bool, work: Path) -> dict[str, Any]:
    """The same cells on `device` and on the CPU, with the weights trained on `device`."""
    steps = "5" if quick else "50"
    per_class = "1" if quick else "5"
    cell = ["--method", "ulip", *SMOKE, "--set", f"dataset.test_per_class={per_class}"]
    attacks = (
        ["--attack", "pgd", "--set", f"attack.steps={steps}"],
        ["--attack", "apgd", "--set", f"attack.steps={steps}"],
    )
    there, here = work / "device-home", work / "cpu-home"
    started = time.perf_counter()
    bench(there, "train", "--method", "ulip", *SMOKE, "--device", device)
    for attack in attacks:
        bench(there, "run", *cell, *attack, "--device", device)
    seconds = time.perf_counter() - started
    here.mkdir(parents=True, exist_ok=True)
    for name in CACHES:
        source = there / name
        if source.is_dir():
            shutil.copytree(source, here / name)
        elif source.is_file():
            shutil.copy2(source, here / name)
    for attack in attacks:
        bench(here, "run", *cell, *attack, "--device", "cpu")
    mine, cpu = records(there), records(here)
    cells = []
    for key, record in mine.items():
        other = cpu[key]
        columns = [c for c in record["samples"] if c == "clean_pred" or c.startswith("adv_pred")]
        rows = len(record["samples"]["id"])
        same = sum(
            all(record["samples"][c][i] == other["samples"][c][i] for c in columns)
            for i in range(rows)
        )
        cells.append({"attack": record["labels"]["attack"], "samples": rows, "agree": same})
    return {"device_seconds": round(seconds, 1), "cells": cells}


def timed(work: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median seconds of `work` after one warm-up (`bench_pointops.timings`)."""
    return statistics.median(timings(work, device, repeats))


def full_size(device_name: str, quick: bool, work: Path) -> dict[str, Any]:
    """Forward+backward time and peak memory of the released encoders, random weights."""
    device = torch.device(device_name)
    points = 1024 if quick else 10_000
    found: dict[str, Any] = {"points": points}
    for name in QUICK_RELEASES if quick else RELEASES:
        found[name] = release_costs(name, device, points, quick)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return found


def release_costs(name: str, device: torch.device, points: int, quick: bool) -> dict[str, Any]:
    """One release's encoder: its size, each batch's cost, and the grouping's share."""
    from bench.contracts.plugins import METHODS

    method = next(m for m in METHODS.names() if name in METHODS.get(m).cls.releases)
    cls = METHODS.get(method).cls
    release = cls.releases[name]
    plugin = cls(release.config)
    with torch.device(device):
        encoder = plugin.build_encoder(release.embed_dim).eval()
    repeats = 1 if quick else 3
    rows: dict[str, Any] = {"parameters": sum(p.numel() for p in encoder.parameters())}
    for batch in (1,) if quick else (1, 8, 32):
        clouds = torch.rand(batch, points, 6, device=device) - 0.5
        rows[f"batch {batch}"] = batch_costs(encoder, plugin.preprocess, clouds, repeats)
    batch = 1 if quick else 8
    measured = rows[f"batch {batch}"]
    if isinstance(measured, dict):
        whole = measured["forward_backward_ms_per_cloud"] * batch / 1e3
        xyz = torch.rand(batch, points, 3, device=device)
        grouping = grouping_seconds(xyz, 64 if quick else 512, repeats)
        rows["fps_knn_share_of_forward_backward"] = round(grouping / whole, 3)
    return rows


def batch_costs(
    encoder: torch.nn.Module,
    preprocess: Callable[[torch.Tensor], torch.Tensor],
    clouds: torch.Tensor,
    repeats: int,
) -> dict[str, Any] | str:
    """Forward+backward to the input (one PGD step's work) per cloud, and the peak memory."""
    device = clouds.device

    def step() -> None:
        x = clouds.clone().requires_grad_(True)
        encoder(preprocess(x)).float().sum().backward()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    try:
        seconds = timed(step, device, repeats)
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        return "out of memory"
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {
        "forward_backward_ms_per_cloud": round(1e3 * seconds / len(clouds), 2),
        "peak_memory_gib": None if peak is None else round(peak, 2),
    }


def grouping_seconds(xyz: torch.Tensor, centres: int, repeats: int) -> float:
    """FPS centres and their 32 nearest neighbours, as the encoders group a cloud."""
    from bench.nn.pointops import farthest_point_sample, gather, knn

    return timed(
        lambda: knn(gather(xyz, farthest_point_sample(xyz, centres)), xyz, 32),
        xyz.device,
        repeats,
    )


def torchrun(device: str, quick: bool, work: Path) -> dict[str, Any]:
    """One process under torchrun trains a miniature on the ShapeNet-55 stand-in."""
    from bench.testing.public_formats import write_shapenet55_ulip

    root = write_shapenet55_ulip(work / "shapenet-55", per_class=4 if quick else 20, points=256)
    corpus = ["--set", "corpus.name=shapenet55", "--set", f"corpus.root={root}",
              "--set", "corpus.classes=all"]  # fmt: skip
    launcher = ("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "1")
    started = time.perf_counter()
    said = bench(work / "torchrun-home", "train", "--method", "ulip", *SMOKE, *corpus,
                 "--device", device, launcher=launcher)  # fmt: skip
    backend = "nccl" if device.startswith("cuda") else "gloo"
    weights = re.search(r"sha256 ([0-9a-f]+)", said)
    return {
        "backend": backend,
        "seconds": round(time.perf_counter() - started, 1),
        "weights_sha256": weights[1] if weights else None,
    }


def ray(device: str, quick: bool, work: Path) -> dict[str, Any]:
    """A cell run as a Ray task on `device`: the device its record says it ran on."""
    home = work / "ray-home"
    cell = ["--method", "ulip", *SMOKE, "--set", "dataset.test_per_class=1", "--attack", "none"]
    started = time.perf_counter()
    bench(home, "run", *cell, "--executor", "ray", "--device", device)
    (record,) = records(home).values()
    provenance = record["provenance"]
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "device": provenance.get("device"),
        "gpu": provenance.get("gpu"),
    }


SECTIONS: dict[str, Callable[[str, bool, Path], dict[str, Any]]] = {
    "agreement": agreement,
    "full_size": full_size,
    "torchrun": torchrun,
    "ray": ray,
}


def markdown(summary: dict[str, Any]) -> str:
    """The summary as a page: the machine, then each section's result."""
    lines = [f"# GPU check on {summary['machine']}", ""]
    lines += [f"`{summary['command']}`, {summary['seconds']} s in all.", ""]
    for name, result in summary["sections"].items():
        lines += [f"## {name}", "", "```json", json.dumps(result, indent=1), "```", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="every section at its smallest")
    parser.add_argument("--out", type=Path, required=True, help="folder for the summaries")
    parser.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    args = parser.parse_args()
    started = time.perf_counter()
    machine = (
        torch.cuda.get_device_name(torch.device(args.device))
        if args.device.startswith("cuda") and torch.cuda.is_available()
        else f"{args.device} ({os.cpu_count()} cores)"
    )
    sections: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.sections:
            work = Path(scratch) / name
            work.mkdir()
            try:
                sections[name] = SECTIONS[name](args.device, args.quick, work)
            except Exception as error:  # a section's failure is its finding
                sections[name] = {"error": f"{type(error).__name__}: {error}"}
            print(name, json.dumps(sections[name])[:300], flush=True)
    summary = {
        "machine": machine,
        "command": " ".join(["python benchmarks/gpu_check.py", *sys.argv[1:]]),
        "torch": torch.__version__,
        "seconds": round(time.perf_counter() - started, 1),
        "sections": sections,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    (args.out / "summary.md").write_text(markdown(summary), encoding="utf-8")
    return 1 if any("error" in result for result in sections.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
