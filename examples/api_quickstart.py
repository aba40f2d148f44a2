"""Evaluate your own point encoder from Python: wrap it, attack it, print the table.

The encoder here is a tiny untrained PointNet (a shared per-point MLP, then max-pooling), and
its class embeddings are the mean embedding of a few training clouds per class (prototypes),
so it recognises some shapes without any training. Replace both with yours: any
`torch.nn.Module` mapping clouds [B, N, 3] to embeddings [B, D], and either text embeddings
[K, D] of your own or `class_names` alone (then the offline text encoder embeds them, D = 384).

Run it with `python examples/api_quickstart.py`; it takes under a minute on a laptop CPU.
"""

from __future__ import annotations

import torch

import bench


class TinyPointNet(torch.nn.Module):
    """A shared per-point MLP with max-pooling, as in PointNet, with seeded weights."""

    def __init__(self, dim: int = 384, width: int = 64, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.points = torch.nn.Sequential(
            torch.nn.Linear(3, width), torch.nn.ReLU(), torch.nn.Linear(width, width)
        )
        self.head = torch.nn.Linear(width, dim)
        self.register_buffer("center", torch.zeros(dim))  # set from data: cosines separate

    def forward(self, clouds: torch.Tensor) -> torch.Tensor:
        return self.head(self.points(clouds[..., :3]).amax(dim=1)) - self.center


def prototypes(encoder: TinyPointNet, data: bench.Dataset) -> torch.Tensor:
    """One embedding per class: the mean over its clouds, the encoder centred on them all."""
    with torch.no_grad():
        embeddings = encoder(data.points)
        encoder.center.copy_(embeddings.mean(dim=0))
        embeddings = embeddings - encoder.center
    classes = range(len(data.class_names))
    return torch.stack([embeddings[data.labels == k].mean(dim=0) for k in classes])


def main() -> None:
    train = bench.load_dataset("procedural40", "train", points=256, train_per_class=4)
    test = bench.load_dataset("procedural40", "test", points=256, test_per_class=2)
    encoder = TinyPointNet()
    embeddings = prototypes(encoder, train)
    victim = bench.Victim.from_encoder(encoder, test.class_names, text_embeddings=embeddings)
    pgd = bench.attacks.get("pgd", eps=0.02, steps=5)
    result = bench.evaluate(victim, test, attacks=["noise", pgd])
    print(result.table().to_string(index=False))
    low, high = result.robust_acc_ci
    print(f"\nclean {result.clean_acc:.3f}, robust {result.robust_acc:.3f} [{low:.3f}, {high:.3f}]")
    for indicator in result.indicators:
        print("indicator:", indicator)


if __name__ == "__main__":
    main()
