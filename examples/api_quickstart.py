"""Evaluate your own point encoder from Python: wrap it, attack it, print the table.

The encoder here is a tiny untrained PointNet (a shared per-point MLP, then max-pooling) that
embeds clouds into the offline text encoder's 384-dimensional space. Replace it with yours:
any `torch.nn.Module` mapping clouds [B, N, 3] to embeddings [B, D] in the space of the text
embeddings it is compared with.

Run it with `python examples/api_quickstart.py`; it takes about a minute on a laptop CPU.
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

    def forward(self, clouds: torch.Tensor) -> torch.Tensor:
        return self.head(self.points(clouds[..., :3]).amax(dim=1))


def main() -> None:
    data = bench.load_dataset("procedural40", "test", points=256, test_per_class=1)
    victim = bench.Victim.from_encoder(TinyPointNet(), data.class_names, logit_scale=100.0)
    pgd = bench.attacks.get("pgd", eps=0.02, steps=5)
    result = bench.evaluate(victim, data, attacks=["noise", pgd])
    print(result.table().to_string(index=False))
    print(f"\nclean {result.clean_acc:.3f}, robust {result.robust_acc:.3f} {result.robust_acc_ci}")


if __name__ == "__main__":
    main()
