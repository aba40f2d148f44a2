"""Non-finite numbers fail their cell in one sentence instead of becoming an accuracy.

argmax over NaN logits is class 0, so a model with NaN weights still "predicts", and its cell
would read as an ordinary low accuracy. A diverged training, a cached miniature with NaN
weights, NaN class embeddings and NaN logits are each refused here; a released checkpoint
with a NaN tensor is refused in test_checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load, save

from bench.cli import main
from bench.contracts.cloudset import CloudSet
from bench.contracts.errors import NonFiniteError
from bench.contracts.runtime import no_progress
from bench.contracts.train_context import TrainContext
from bench.evaluation.victim import ZeroShotVictim
from bench.storage.verified import recorded, sidecar, write_verified
from bench.testing.conformance import smoke_flags
from bench.testing.toys import TOY_CLASSES, PointMLPEncoder, ToyVictim, toy_clouds
from bench.training.loop import Schedule, fit

TINY = [*smoke_flags("methods", "ulip"), "--set", "dataset.test_per_class=1"]


def test_a_training_that_diverges_stops_in_one_sentence_and_saves_nothing(
    tmp_path: Path,
) -> None:
    points, labels = toy_clouds(8, 16, seed=0)
    data = CloudSet(points.numpy(), labels.numpy(), TOY_CLASSES, tuple(map(str, range(8))), "x")
    resume = tmp_path / "resume.pt"
    ctx = TrainContext(
        data, torch.eye(5), torch.device("cpu"), no_progress(""), 0, None, None, resume
    )
    model = torch.nn.Linear(3, 1)

    def exploding(points: torch.Tensor, *_: object) -> torch.Tensor:
        return model(points).mean() * float("inf")

    with pytest.raises(NonFiniteError, match=r"diverged in epoch 1 of 3 .* lower method.lr"):
        fit(
            model, exploding, ctx, Schedule(epochs=3, batch_size=4, lr=1e-3, weight_decay=0, seed=0)
        )
    assert not resume.exists()  # no state to resume a diverged run from


def test_cached_weights_with_a_nan_fail_the_cell(
    capsys: pytest.CaptureFixture[str], session_home: Path
) -> None:
    run = ["run", "--method", "ulip", *TINY]  # the session's smoke miniature, restored after
    assert main([*run, "--attack", "none", "--wide"]) == 0
    table = capsys.readouterr().out  # names the cell by the first 16 digits of its hash
    assert main(["results", "--format", "json"]) == 0
    (record,) = [
        r for r in json.loads(capsys.readouterr().out) if f"| {r['cell_hash'][:16]} |" in table
    ]
    path = session_home / "weights" / "ulip" / record["provenance"]["weights"]["file"]
    original = {file: file.read_bytes() for file in (path, sidecar(path))}
    state = load(original[path])
    name = sorted(state)[0]
    state[name] = state[name].clone().fill_(float("nan"))
    _, key = recorded(path) or ("", "")
    try:
        write_verified(path, save(state, metadata={"key": key}), key)  # intact file, NaN weights
        attack = ["--attack", "pgd", "--set", "attack.steps=1", "--set", "attack.eps=0.0123"]
        assert main([*run, *attack]) == 1
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"1 of the {len(state)} tensors of the cached miniature" in error
        assert "hold NaN or infinite values" in error
        assert main(["results", "--format", "json"]) == 0
        failed = [r for r in json.loads(capsys.readouterr().out) if r["status"] == "failed"]
        assert [r["cell"]["attack"]["config"]["eps"] for r in failed] == [0.0123]
    finally:
        for file, data in original.items():
            file.write_bytes(data)


def test_nan_class_embeddings_and_nan_logits_give_no_verdict() -> None:
    embeddings = torch.randn(len(TOY_CLASSES), 32)
    embeddings[2, 5] = float("nan")
    with pytest.raises(NonFiniteError, match="The class embeddings hold 1 NaN"):
        ZeroShotVictim(PointMLPEncoder(0), torch.nn.Identity(), embeddings, TOY_CLASSES, 10.0)
    victim = ToyVictim()
    points, _ = toy_clouds(4, 32, seed=1)
    assert victim.vote(points, 1).shape == (4,)
    with torch.no_grad():
        victim.encoder.biases[2][0] = float("nan")  # every embedding, so every logit, is NaN
    with pytest.raises(NonFiniteError, match="The logits of 4 clouds hold 20 NaN"):
        victim.vote(points, 1)
