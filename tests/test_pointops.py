"""Sampling and grouping ops against indices recorded from the official encoders' code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.nn import pointops
from bench.nn.pointops import ball_query, farthest_point_sample, gather, knn

FIXTURES = Path(__file__).parent / "fixtures" / "official"
# Near-origin points the fixtures insert: (cloud, index), inside pointnet2's never-sampled ball.
NEAR_ORIGIN = ((0, 5), (1, 11))


def load(name: str) -> dict:
    return torch.load(FIXTURES / f"{name}.parity.pt", weights_only=True)


def xyz_of(fx: dict) -> torch.Tensor:
    points = fx["points"]
    return points["xyz"] if isinstance(points, dict) else points[..., :3]


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def dgl_from_zero(xyz: torch.Tensor, count: int) -> torch.Tensor:
    """Random-start FPS with its start moved onto point 0, through the public API only.

    The start is drawn from the generator alone, so a rerun with the same seed starts at the same
    index s; swapping points 0 and s there makes it start on the original point 0.
    """
    start = farthest_point_sample(xyz, 1, start="random", generator=seeded(7))
    perm = torch.arange(xyz.shape[1]).repeat(xyz.shape[0], 1)
    for cloud, s in enumerate(start[:, 0].tolist()):
        perm[cloud, [0, s]] = perm[cloud, [s, 0]]
    swapped = gather(xyz, perm)
    idx = farthest_point_sample(swapped, count, start="random", generator=seeded(7))
    assert torch.equal(idx[:, 0], start[:, 0])
    return perm.gather(1, idx)


@pytest.mark.parametrize("name", ["ulip1_pointbert", "ulip2_pointbert"])
def test_fps_first_matches_pointnet2(name: str) -> None:
    fx = load(name)
    expected = fx["intermediates"]["fps_idx"]
    idx = farthest_point_sample(xyz_of(fx), expected.shape[1])
    assert idx.dtype == torch.int64
    assert torch.equal(idx, expected)
    for cloud, point in NEAR_ORIGIN:
        assert point not in idx[cloud]
    # Without the near-origin rule the same cloud samples those points: the rule is exercised.
    dgl = dgl_from_zero(xyz_of(fx), expected.shape[1])
    assert all(point in dgl[cloud] for cloud, point in NEAR_ORIGIN)


def test_fps_random_start_zero_equals_dgl_fixture() -> None:
    fx = load("openshape_pointbert_g14")
    expected = fx["intermediates"]["fps_idx"]
    assert torch.equal(dgl_from_zero(xyz_of(fx), expected.shape[1]), expected)


def test_fps_random_is_seeded() -> None:
    xyz = xyz_of(load("openshape_pointbert_g14"))

    def run(seed: int) -> torch.Tensor:
        return farthest_point_sample(xyz, 16, start="random", generator=seeded(seed))

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))
    assert not torch.equal(run(0)[:, 0], torch.zeros(2, dtype=torch.long))


def test_fps_ties_go_to_lowest_index_and_near_origin_is_skipped() -> None:
    # From point 0, points 1 and 2 are equally far; point 3 is farther than point 4 but sits
    # inside the near-origin ball.
    cloud = torch.tensor([[[1.0, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 0.02], [0.5, 0, 0]]])
    assert farthest_point_sample(cloud, 4).tolist() == [[0, 1, 2, 4]]
    mirrored = cloud[:, [0, 2, 1, 3, 4]]
    assert farthest_point_sample(mirrored, 4).tolist() == [[0, 1, 2, 4]]


def test_fps_rejects_bad_arguments() -> None:
    cloud = torch.rand(1, 8, 3)
    with pytest.raises(ValueError, match="cannot sample"):
        farthest_point_sample(cloud, 9)
    with pytest.raises(ValueError, match="unknown FPS start"):
        farthest_point_sample(cloud, 2, start="last")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["ulip1_pointbert", "ulip2_pointbert"])
def test_knn_matches_official(name: str) -> None:
    fx = load(name)
    expected = fx["intermediates"]["knn_idx"]
    xyz, centres = xyz_of(fx), fx["intermediates"]["centers"]
    idx = knn(centres, xyz, expected.shape[-1])
    assert torch.equal(idx.sort(dim=-1).values, expected)
    dist = (gather(xyz, idx) - centres.unsqueeze(2)).square().sum(-1)
    assert bool((dist.diff(dim=-1) >= 0).all()), "neighbours must come nearest first"
    assert torch.equal(knn(centres, xyz, expected.shape[-1], chunk_size=5), idx)


def test_ball_query_matches_official() -> None:
    fx = load("openshape_pointbert_g14")
    expected = fx["intermediates"]["ball_idx"]
    xyz, centres = xyz_of(fx), fx["intermediates"]["centers"]
    radius, nsample = 0.2, expected.shape[-1]
    hits = ((centres.unsqueeze(2) - xyz.unsqueeze(1)).square().sum(-1) <= radius**2).sum(-1)
    assert bool((hits < nsample).any()) and bool((hits > nsample).any()), "pad and truncate both"
    assert torch.equal(ball_query(centres, xyz, radius, nsample), expected)
    for size in (1, 7):
        assert torch.equal(ball_query(centres, xyz, radius, nsample, chunk_size=size), expected)


def test_ball_query_rejects_an_empty_ball() -> None:
    points = torch.rand(1, 16, 3)
    with pytest.raises(ValueError, match="holds no point"):
        ball_query(torch.full((1, 1, 3), 5.0), points, 0.1, 4)


def test_gather_is_differentiable() -> None:
    points = torch.randn(2, 10, 4, requires_grad=True)
    idx = torch.tensor([[[1, 1], [3, 0]], [[9, 9], [9, 2]]])
    out = gather(points, idx)
    assert out.shape == (2, 2, 2, 4)
    assert torch.equal(out[1, 1, 0], points[1, 9])
    out.sum().backward()
    counts = torch.stack([torch.bincount(row.flatten(), minlength=10) for row in idx]).float()
    assert torch.equal(points.grad, counts.unsqueeze(-1).expand(-1, -1, 4))


def test_large_clouds_are_chunked(monkeypatch: pytest.MonkeyPatch) -> None:
    batch, num_points, num_queries = 32, 10_000, 256
    blocks: list[torch.Size] = []
    exact = pointops.square_distance

    def recording(query: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        dist = exact(query, points)
        blocks.append(dist.shape)
        return dist

    monkeypatch.setattr(pointops, "square_distance", recording)
    points = torch.rand(batch, num_points, 3, generator=torch.Generator().manual_seed(0))
    queries = points[:, :num_queries]
    idx = knn(queries, points, 32)
    balls = ball_query(queries, points, 0.1, 32)
    largest = max(shape.numel() for shape in blocks) * 4
    assert len(blocks) > 2 and largest <= pointops.DISTANCE_BUDGET_BYTES
    assert pointops.query_chunk_size(batch, num_points) < num_queries
    # Chunking must not change the answer: compare a few queries against one unchunked block.
    head = queries[:, :8]
    assert torch.equal(idx[:, :8], knn(head, points, 32, chunk_size=8))
    assert torch.equal(balls[:, :8], ball_query(head, points, 0.1, 32, chunk_size=8))
