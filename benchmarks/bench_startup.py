"""Start-up time of `bench --help` and `bench list` (target: under 1 s; torch is imported lazily).

Runs each command several times in fresh interpreters and prints the median wall time, plus
whether torch was imported along the way.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from bench.testing.cli import TORCH_PROBE


def measure(args: list[str], repeats: int) -> tuple[float, str]:
    times, note = [], ""
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", TORCH_PROBE, *args], capture_output=True, text=True, check=True
        )
        times.append(time.perf_counter() - started)
        note = done.stderr.strip().splitlines()[-1]
    return statistics.median(times), note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    for args in (["--help"], ["list"]):
        seconds, note = measure(args, repeats)
        print(f"bench {' '.join(args):<8} median {seconds:.3f} s over {repeats} runs ({note})")


if __name__ == "__main__":
    main()
