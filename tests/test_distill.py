"""The contrastive distillation objective, with and without teacher image embeddings."""

from __future__ import annotations

import numpy as np
import torch

from bench.contracts.cloudset import CloudSet
from bench.contracts.train_context import TrainContext
from bench.training.distill import LogitScale, caption_loss, contrastive_loss, train_contrastive
from bench.training.loop import Schedule


def test_text_loss_prefers_the_right_class() -> None:
    classes = torch.eye(3)
    scale = torch.tensor(10.0)
    right = contrastive_loss(torch.eye(3), torch.arange(3), classes, scale)
    wrong = contrastive_loss(torch.eye(3), torch.tensor([1, 2, 0]), classes, scale)
    assert right < wrong


def test_image_term_is_added_when_images_are_given() -> None:
    embeddings = torch.randn(4, 5, generator=torch.Generator().manual_seed(0))
    classes = torch.nn.functional.normalize(torch.randn(3, 5), dim=-1)
    labels = torch.tensor([0, 1, 2, 0])
    scale = LogitScale()()
    text_only = contrastive_loss(embeddings, labels, classes, scale)
    aligned = contrastive_loss(embeddings, labels, classes, scale, embeddings)
    shuffled = contrastive_loss(embeddings, labels, classes, scale, embeddings.flip(0))
    assert text_only < aligned < shuffled


def test_training_uses_image_embeddings_by_sample() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(8, 32, 3)).astype(np.float32)
    labels = np.arange(8) % 2
    names = ("a", "b")
    encoder_input = 32 * 3

    def run(images: np.ndarray | None) -> torch.Tensor:
        torch.manual_seed(0)
        encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(encoder_input, 4))
        data = CloudSet(points, labels, names, tuple(map(str, range(8))), "x", images)
        classes = torch.nn.functional.normalize(torch.randn(2, 4), dim=-1)
        ctx = TrainContext(data, classes, torch.device("cpu"), lambda done, total: None)
        train_contrastive(
            encoder, lambda p: p, ctx, Schedule(2, 4, 1e-2, 0.0, 0), use_augment=False
        )
        return encoder[1].weight.detach().clone()

    images = rng.normal(size=(8, 4)).astype(np.float32)
    assert not torch.equal(run(None), run(images))
    assert torch.equal(run(images), run(images))


def test_caption_term_targets_each_clouds_own_caption_among_distinct_ones() -> None:
    data = CloudSet(
        np.zeros((3, 4, 3), np.float32), np.zeros(3, np.int64), ("a",), ("0", "1", "2"), "x"
    )
    ctx = TrainContext(data, torch.eye(2), torch.device("cpu"), lambda done, total: None)
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    index, scale = torch.arange(3), torch.tensor(10.0)
    assert caption_loss(z, ctx, index, scale) == 0  # no captions: no term
    ctx.caption_embeddings = torch.eye(2)  # two distinct captions; clouds 0 and 2 share one
    ctx.caption_ids = torch.tensor([0, 1, 0])
    right = caption_loss(z, ctx, index, scale)
    ctx.caption_ids = torch.tensor([1, 0, 1])
    assert right < caption_loss(z, ctx, index, scale)


def test_named_captions_reach_training_and_change_the_weights() -> None:
    from bench.plan.spec import expand_trainings
    from bench.testing.conformance import smoke_params
    from bench.training.weights import obtain_encoder

    trained = {}
    for text in ("prompts", "named_captions"):
        spec = {
            "methods": [{"name": "ulip", "params": smoke_params("methods", "ulip")}],
            "corpus": {"params": {"train_per_class": 2}, "text": text},
            "attacks": ["none"],
        }
        (training,) = expand_trainings(spec)
        encoder = obtain_encoder(training, torch.device("cpu"))
        trained[text] = encoder.sha256
    assert trained["prompts"] != trained["named_captions"]
