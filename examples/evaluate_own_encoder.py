"""Your own zero-shot encoder beside the shipped miniatures, ranked on one leaderboard track.

The tiny PointNet of `api_quickstart.py` is trained here as ULIP trains its encoder: its
embeddings are aligned to the text embeddings of the 30 seen classes of procedural40 (the
offline text encoder's), through the very victim that is then attacked. It and the ULIP,
OpenShape and dual-denoising miniatures, trained on the same 30 classes, are then evaluated
zero-shot on the 10 unseen classes under the same PGD attack, stored in one bench home, and
the track is printed as `bench publish` renders it: ranked where a paired test says so.

Run it with `python examples/evaluate_own_encoder.py` (the home is BENCH_HOME, default
~/.bench). It trains the three miniatures on first use (a few minutes on a laptop CPU; later
runs are served from the store); `--quick` uses the test suite's tiny settings instead.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import torch
from api_quickstart import TinyPointNet

import bench
from leaderboard.exports import to_markdown
from leaderboard.tracks import tracks

SEEN = "modelnet40_minus_10"  # the classes the miniatures are trained on
MINIATURES = ("ulip", "openshape", "dual_denoise")


def align(encoder: TinyPointNet, train: bench.Dataset, steps: int, seed: int = 0) -> bench.Victim:
    """Train `encoder` to classify the training clouds among their class names (cross-entropy
    on cosine logits against the fixed text embeddings), and return its victim."""
    victim = bench.Victim.from_encoder(encoder, train.class_names, trained_on=train.class_names)
    text = victim.class_embeddings  # unit rows [K, D]
    encoder.requires_grad_(True)  # a victim freezes its encoder: attacks need no weight gradients
    optimizer = torch.optim.Adam(encoder.parameters(), lr=2e-3)
    draw = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        batch = torch.randint(len(train), (32,), generator=draw)
        embeddings = torch.nn.functional.normalize(encoder(train.points[batch]), dim=-1)
        logits = 20.0 * embeddings @ text.T
        loss = torch.nn.functional.cross_entropy(logits, train.labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    encoder.requires_grad_(False)
    return victim


def settings(quick: bool) -> dict[str, Any]:
    """The run's sizes: the full defaults, or the test suite's tiny ones (numbers meaningless)."""
    if not quick:
        return {
            "data": {},
            "steps": 50,
            "align_steps": 400,
            "methods": dict.fromkeys(MINIATURES, {}),
        }
    from bench.testing.smoke import smoke_params  # the conformance suite's tiny configs

    data = {"points": 256, "train_per_class": 4, "test_per_class": 1}
    return {
        "data": data,
        "steps": 2,
        "align_steps": 20,
        "methods": {
            n: {**smoke_params("methods", n), "corpus": {"params": data}} for n in MINIATURES
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny settings: checks the wiring")
    quick = parser.parse_args().quick
    size = settings(quick)
    home = Path(os.environ.get("BENCH_HOME", "~/.bench")).expanduser()

    train = bench.load_dataset("procedural40", "train", classes=SEEN, **size["data"])
    own = align(TinyPointNet(), train, size["align_steps"])
    unseen = {"classes": "unseen", "trained_on": train.class_names}
    test = bench.load_dataset("procedural40", "test", **unseen, **size["data"])
    pgd = bench.attacks.get("pgd", eps=0.01, steps=size["steps"])

    results = [bench.evaluate(own, test, [pgd], store=home)]
    for name in MINIATURES:
        method = bench.load_method(name, seed=0, **size["methods"][name])
        results.append(bench.evaluate(method, test, [pgd], store=home))

    for track, entries in tracks(result.to_record() for result in results).items():
        print(to_markdown(track, entries))
    print(f"Stored in {home}: `bench results` lists them, `bench publish` renders the site.")


if __name__ == "__main__":
    main()
