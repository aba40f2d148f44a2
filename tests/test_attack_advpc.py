"""AdvPC and the auxiliary networks cells train for it: the attack on the toy victim, the
autoencoder's training, and a cell that trains, caches and records one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import bench
from attacks.advpc import AdvPC, AdvPCConfig, reconstruct
from bench.adversarial.losses import fooled
from bench.auxiliary.autoencoder import AutoencoderRecipe
from bench.auxiliary.point_autoencoder import chamfer
from bench.contracts.errors import ConfigError
from bench.contracts.runtime import Runtime, no_progress
from bench.evaluation.threat import check_threat_model
from bench.plan.spec import expand
from bench.running.runner import Runner
from bench.storage.store import Store
from bench.testing.attack_checks import ready
from bench.testing.conformance import smoke_params
from bench.testing.toys import ToyVictim, toy_clouds

pytestmark = pytest.mark.usefixtures("single_thread")

SMALL = AutoencoderRecipe(width=32, code=16, epochs=40, batch=16, lr=3e-3)


@pytest.fixture(scope="module")
def autoencoder() -> torch.nn.Module:
    clouds, _ = toy_clouds(64, 128, seed=11)
    return SMALL.train(clouds, 0, torch.device("cpu"), no_progress("")).eval()


def test_the_autoencoder_learns_to_reconstruct_and_repeats_in_its_seed() -> None:
    clouds, _ = toy_clouds(32, 64, seed=3)
    recipe = AutoencoderRecipe(width=16, code=8, epochs=30, batch=8, lr=3e-3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        before = chamfer(recipe.build(64)(clouds), clouds).mean()
    first = recipe.train(clouds, 0, torch.device("cpu"), no_progress(""))
    again = recipe.train(clouds, 0, torch.device("cpu"), no_progress(""))
    other = recipe.train(clouds, 1, torch.device("cpu"), no_progress(""))
    with torch.no_grad():
        after = chamfer(first(clouds), clouds).mean()
    assert after < before / 2
    for name, value in first.state_dict().items():
        assert torch.equal(value, again.state_dict()[name])
    assert not torch.equal(
        first.state_dict()["decoder.4.bias"], other.state_dict()["decoder.4.bias"]
    )


def test_advpc_without_its_autoencoder_says_so_in_one_sentence() -> None:
    points, labels = toy_clouds(2, 32, seed=1)
    with pytest.raises(ConfigError, match="advpc needs its trained autoencoder network"):
        AdvPC().run(ToyVictim(seed=0), points, labels, torch.Generator())


def test_advpc_fools_through_the_autoencoder_within_its_ball(autoencoder) -> None:
    victim = ToyVictim(seed=0)
    points, labels = toy_clouds(16, 128, seed=5)
    attack = AdvPC(AdvPCConfig(eps=0.3, steps=40, lr=0.02))
    attack.bind_auxiliary(autoencoder)
    out = attack.run(victim, points, labels, torch.Generator())
    check_threat_model(attack.threat_model(), points, out.points)
    with torch.no_grad():
        direct = fooled(victim.sample(out.points, 1), labels, False)
        through = fooled(victim.sample(reconstruct(autoencoder, out.points), 1), labels, False)
        clean = fooled(victim.sample(points, 1), labels, False)
    attacked = ~clean
    assert direct[attacked].float().mean() >= 0.75
    # The stat says what a fresh judgement of the returned cloud says.
    assert torch.equal(out.stats["through_fooled"][attacked], (direct & through)[attacked])
    assert through[attacked].sum() >= 4
    assert out.gradient_queries == 2 * 40


def test_gamma_moves_the_loss_onto_the_reconstruction(autoencoder) -> None:
    """With gamma 0 AdvPC ignores the autoencoder; with gamma 0.5 more of its clouds still fool
    the victim once reconstructed (18 of 32 against 9 when written)."""
    victim = ToyVictim(seed=0)
    points, labels = toy_clouds(32, 128, seed=5)
    surviving = []
    for gamma in (0.0, 0.5):
        attack = ready(AdvPC, AdvPCConfig(eps=0.3, steps=40, lr=0.02, gamma=gamma), 128)
        attack.bind_auxiliary(autoencoder)
        out = attack.run(victim, points, labels, torch.Generator())
        with torch.no_grad():
            rebuilt = victim.sample(reconstruct(autoencoder, out.points), 1)
        surviving.append(fooled(rebuilt, labels, False).sum().item())
    assert surviving[1] >= surviving[0] + 4


def test_a_cell_trains_its_autoencoder_once_records_it_and_keys_it(tmp_path: Path) -> None:
    spec = {
        "methods": [{"name": "ulip", "params": smoke_params("methods", "ulip")}],
        "corpus": {"name": "procedural40", "params": {"train_per_class": 2, "points": 128}},
        "datasets": [{"name": "procedural40", "params": {"test_per_class": 1, "points": 128}}],
        "attacks": [{"name": "advpc", "params": {"steps": 3}}, "pgd"],
    }
    cells = expand(spec)
    advpc, pgd = cells
    assert advpc.attack_auxiliary is not None and pgd.attack_auxiliary is None
    assert "attack_auxiliary" in advpc.identity() and "attack_auxiliary" not in pgd.identity()
    reseeded = expand({**spec, "seeds": [1]})[0]
    assert reseeded.attack_auxiliary is not None
    assert reseeded.attack_auxiliary.key != advpc.attack_auxiliary.key
    store = Store(tmp_path / "store")
    (first,) = Runner(store, Runtime(batch_size=8)).run([advpc])
    assert first.record.status == "ok", first.record.error
    trained = first.record.provenance["auxiliary"]["attack"]
    assert trained["recipe"] == "autoencoder v1" and trained["trained_now"]
    (again,) = Runner(store, Runtime(batch_size=8, rerun=True)).run([advpc])
    loaded = again.record.provenance["auxiliary"]["attack"]
    assert not loaded["trained_now"] and loaded["sha256"] == trained["sha256"]
    assert json.dumps(again.record.samples) == json.dumps(first.record.samples)


def test_advpc_on_its_own_gives_the_verdicts_of_its_cell() -> None:
    """The API trains the same autoencoder as the cell (`Method.ready`), so the attack called
    on its own returns, cloud by cloud, the verdicts the cell stored."""
    corpus = {"name": "procedural40", "params": {"train_per_class": 2, "points": 128}}
    method = bench.load_method("ulip", corpus=corpus, **smoke_params("methods", "ulip"))
    data = bench.load_dataset(
        "procedural40", classes="unseen", trained_on=method, test_per_class=5, points=128
    )
    attack = bench.attacks.get("advpc", steps=3)
    record = bench.evaluate(method, data, attacks=[attack]).to_record()
    pairs = zip(record.samples["clean_pred"], record.samples["label"], strict=True)
    attacked = [i for i, (clean, label) in enumerate(pairs) if clean == label]
    assert attacked, "the miniature should classify some clouds correctly"
    victim = method.victim(data.class_names)
    ready = method.ready(attack, data)
    ids = [data.ids[i] for i in attacked]
    output = ready(victim, data.points[attacked], data.labels[attacked], ids=ids)
    verdicts = victim.vote(output.points, 1).tolist()
    assert verdicts == [record.samples["adv_pred"][i] for i in attacked]
