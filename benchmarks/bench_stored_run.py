"""A stored `bench run` against `bench list` (target: under 2x; torch is not imported).

Asking again for a cell the store holds only plans it and reads its record, so it should cost
about what listing the plugins costs, not the seconds importing torch takes. The script computes
a tiny cell once in a temporary home (its miniature trains in about a minute), then runs both
commands several times in fresh interpreters and prints their median wall times, the ratio, and
whether torch was imported along the way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.testing.cli import TORCH_PROBE
from bench.testing.conformance import smoke_flags

CELL = [
    "run",
    "--method",
    "ulip",
    "--attack",
    "none",
    *smoke_flags("methods", "ulip"),
    "--set",
    "dataset.test_per_class=1",
]


def measure(args: list[str], repeats: int, env: dict[str, str]) -> tuple[float, str, str]:
    """Median wall time, the probe's torch line, and the command's last line of output."""
    times, note, output = [], "", ""
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", TORCH_PROBE, *args], capture_output=True, text=True, env=env
        )
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"bench {' '.join(args)} failed:\n{done.stderr}")
        note = done.stderr.strip().splitlines()[-1]
        output = done.stdout.strip().splitlines()[-1]
    return statistics.median(times), note, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "BENCH_HOME": home}
        started = time.perf_counter()
        _, _, computed = measure(CELL, 1, env)
        print(f"computed the cell once in {time.perf_counter() - started:.1f} s: {computed}")
        stored, stored_note, reused = measure(CELL, repeats, env)
        if "1 from the store" not in reused:
            raise SystemExit(f"the second run did not come from the store: {reused}")
        listed, listed_note, _ = measure(["list"], repeats, env)
    print(f"bench run (stored) median {stored:.3f} s over {repeats} runs ({stored_note})")
    print(f"bench list         median {listed:.3f} s over {repeats} runs ({listed_note})")
    print(f"ratio stored run / list: {stored / listed:.2f} (target below 2)")


if __name__ == "__main__":
    main()
