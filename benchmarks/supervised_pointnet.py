"""Train a small supervised PointNet on procedural40; report test accuracy, clean and scanned.

This checks the embedded dataset itself: the 40 classes must be learnable from 60 examples each
(distinct), a plain PointNet should still confuse a few look-alike pairs (not trivial), and the
scan variant must cost accuracy (a real domain shift). Run from the repository root:

    python benchmarks/supervised_pointnet.py --epochs 6
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from bench.contracts.cloudset import CloudSet
from bench.datasets.procedural40 import Procedural40
from bench.datasets.procedural40_scan import Procedural40Scan


class PointNet(nn.Module):
    """Shared point MLP 3-64-128-256, max-pool over points, then a two-layer classifier head."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        widths = [3, 64, 128, 256]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Conv1d(a, b, 1), nn.BatchNorm1d(b), nn.ReLU()]
        self.points = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(256, 128),
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(128, classes),
        )

    def forward(self, clouds: torch.Tensor) -> torch.Tensor:
        return self.head(self.points(clouds.transpose(1, 2)).amax(dim=2))


def train_pointnet(
    data: CloudSet, epochs: int, seed: int, points: int = 512, batch: int = 32
) -> PointNet:
    """Adam on random point subsets with random anisotropic scaling, the usual ModelNet recipe."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = PointNet(len(data.class_names))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    clouds, labels = torch.from_numpy(data.points), torch.from_numpy(data.labels)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order) - 1, batch):
            index = order[start : start + batch]
            subset = torch.randperm(clouds.shape[1], generator=generator)[:points]
            x = clouds[index][:, subset]
            x = x * torch.empty(len(index), 1, 3).uniform_(0.8, 1.25, generator=generator)
            loss = nn.functional.cross_entropy(model(x), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: PointNet, data: CloudSet) -> float:
    predictions = torch.cat(
        [model(torch.from_numpy(chunk)).argmax(1) for chunk in np.array_split(data.points, 16)]
    )
    return float((predictions.numpy() == data.labels).mean())


def run(
    epochs: int = 6, train_per_class: int = 60, test_per_class: int = 20, seed: int = 0
) -> dict[str, float]:
    """Train on procedural40/train; test on procedural40/test and procedural40_scan/test."""
    sizes = {"train_per_class": train_per_class, "test_per_class": test_per_class}
    clean = Procedural40(Procedural40.Config(**sizes))
    scan = Procedural40Scan(Procedural40Scan.Config(**sizes))
    model = train_pointnet(clean.load("train"), epochs, seed)
    return {
        "clean": accuracy(model, clean.load("test")),
        "scan": accuracy(model, scan.load("test")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    start = time.perf_counter()
    result = run(args.epochs, seed=args.seed)
    print(
        f"procedural40 test accuracy {result['clean']:.3f},"
        f" procedural40_scan test accuracy {result['scan']:.3f}"
        f" ({time.perf_counter() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
