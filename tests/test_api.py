"""The Python API as a user calls it: light to import, documented exactly, and on the cell's
code path (an attack on its own gives a cell's verdicts; a result is stored like a cell)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import bench
from bench.contracts.errors import ConfigError, UnknownPluginError, UsageError
from bench.contracts.plugins import ATTACKS
from bench.storage.store import Store
from bench.testing.conformance import smoke_flags, smoke_params
from bench.testing.toys import NoisyInput, PointMLPEncoder, ToyVictim, toy_clouds

ROOT = Path(__file__).resolve().parent.parent
SEED = 0  # the seed of test_cli's miniature: a whole suite trains its weights once


def python(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if home is not None:
        env["BENCH_HOME"] = str(home)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env)


def test_import_bench_loads_no_torch() -> None:
    probe = "import sys, bench; bench.__all__; print('torch' in sys.modules)"
    assert python("-c", probe).stdout.strip() == "False"


def test_all_is_exactly_the_documented_surface() -> None:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    documented = re.findall(r"^### `bench\.(\w+)`$", text, re.MULTILINE)
    assert sorted(documented) == sorted(bench.__all__)
    for name in bench.__all__:
        assert getattr(bench, name).__doc__, f"bench.{name} needs a docstring"


def test_attack_configs_are_checked_as_the_command_line_checks_them() -> None:
    with pytest.raises(ConfigError, match="eps"):
        bench.attacks.get("pgd", eps=-1.0)
    with pytest.raises(UnknownPluginError, match="Did you mean 'pgd'"):
        bench.attacks.get("pgdd")
    assert set(bench.attacks.names()) >= {"pgd", "apgd", "standard", "none"}
    assert bench.attacks.get("pgd", eps=0.01).threat_model.eps == 0.01


@pytest.mark.parametrize("name", ATTACKS.names())
def test_every_registered_attack_runs_on_its_own_and_repeats_for_a_seed(
    name: str, single_thread: None
) -> None:
    attack = bench.attacks.get(name, **smoke_params("attacks", name))
    points, labels = toy_clouds(3, 64, seed=1)
    recipe = attack.plugin.auxiliary_model()
    if recipe is not None:  # its network, untrained: the attack runs the same on any
        attack = attack.with_auxiliary(recipe.build(64))
    victim = ToyVictim()
    first = attack(victim, points, labels, seed=5)
    second = attack(victim, points, labels, seed=5)
    assert torch.isfinite(first.points).all()
    assert torch.equal(first.points, second.points)


def test_an_attack_on_its_own_gives_the_verdicts_of_the_cli_cell() -> None:
    cli = [sys.executable, "-m", "bench.cli", "run", "--method", "ulip", "--attack", "pgd"]
    cli += ["--set", "attack.steps=2", "--classes", "all", "--seed", str(SEED)]
    cli += [*smoke_flags("methods", "ulip"), "--set", "dataset.test_per_class=1"]
    ran = subprocess.run(cli, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr

    method = bench.load_method("ulip", seed=SEED, **smoke_params("methods", "ulip"))
    data = bench.load_dataset("procedural40", "test", test_per_class=1)
    pgd = bench.attacks.get("pgd", steps=2)
    # The very cell `bench run` stored: same identity, served from the store.
    result = bench.evaluate(method, data, attacks=[pgd], store=os.environ["BENCH_HOME"])
    assert result.reused == (True,)
    record = result.to_record()

    victim = method.victim(data.class_names)
    output = pgd(victim, data.points, data.labels, seed=SEED, ids=data.ids)
    verdicts = victim.vote(output.points, 1).tolist()
    clean = victim.vote(data.points, 1).tolist()
    assert clean == record.samples["clean_pred"]
    labels = record.samples["label"]
    attacked = [i for i, (c, y) in enumerate(zip(clean, labels, strict=True)) if c == y]
    assert attacked, "the miniature should classify some clouds correctly"
    assert [verdicts[i] for i in attacked] == [record.samples["adv_pred"][i] for i in attacked]
    assert result.robust_acc == record.metrics["robust_acc"]
    assert list(result.samples["id"]) == list(data.ids)


def test_an_own_encoder_cannot_train_an_attacks_or_defenses_network() -> None:
    data = bench.load_dataset("procedural40", "test", points=128, test_per_class=1)
    victim = bench.Victim.from_encoder(PointMLPEncoder(seed=0, dim=384), data.class_names)
    with pytest.raises(UsageError, match="advpc needs its autoencoder network trained on"):
        bench.evaluate(victim, data, attacks=[bench.attacks.get("advpc")])
    with pytest.raises(UsageError, match="dup_net needs its upsampler network trained on"):
        bench.evaluate(victim, data, attacks=["pgd"], defense="dup_net")


def test_an_own_encoder_is_stored_like_a_cell_and_served_on_a_second_call(
    tmp_path: Path, single_thread: None
) -> None:
    data = bench.load_dataset("procedural40", "test", points=128, test_per_class=1)
    encoder = PointMLPEncoder(seed=0, dim=384)
    victim = bench.Victim.from_encoder(encoder, data.class_names, logit_scale=50.0)
    attack = bench.attacks.get("pgd", steps=1)
    first = bench.evaluate(victim, data, attacks=[attack], store=tmp_path)
    again = bench.evaluate(victim, data, attacks=[attack], store=tmp_path)
    assert (first.reused, again.reused) == ((False,), (True,))
    assert again.to_record().samples == first.to_record().samples
    assert 0 <= first.robust_acc <= first.clean_acc
    low, high = first.robust_acc_ci
    assert low <= first.robust_acc <= high

    listed = python("-m", "bench.cli", "--home", str(tmp_path), "results", "--wide")
    assert listed.returncode == 0, listed.stderr
    assert "PointMLPEncoder@" in listed.stdout and "| ok |" in listed.stdout

    stored = first.to_record().cell["method"]["config"]
    assert stored == victim.identity()
    with torch.no_grad():
        encoder.center.add_(1.0)  # other weights: another identity, another cell
    assert victim.identity()["state_sha256"] != stored["state_sha256"]


def test_an_encoder_drawing_noise_makes_a_stochastic_victim() -> None:
    noisy = NoisyInput(PointMLPEncoder(seed=0, dim=8), sigma=0.01)
    embeddings = torch.eye(8)[:3]
    victim = bench.Victim.from_encoder(noisy, ("a", "b", "c"), text_embeddings=embeddings)
    assert victim.stochastic
    plain = bench.Victim.from_encoder(noisy.encoder, text_embeddings=embeddings)
    assert not plain.stochastic and plain.class_names == ("0", "1", "2")


def test_a_stochastic_victim_is_attacked_with_eot_and_naively_and_repeats_for_a_seed(
    single_thread: None,
) -> None:
    data = bench.load_dataset("procedural40", "test", points=128, test_per_class=1)
    noisy = NoisyInput(PointMLPEncoder(seed=0, dim=384), sigma=0.02)
    victim = bench.Victim.from_encoder(noisy, data.class_names, logit_scale=50.0)
    pgd = bench.attacks.get("pgd", steps=1)
    first = bench.evaluate(victim, data, attacks=[pgd], seed=3).to_record()
    again = bench.evaluate(victim, data, attacks=[pgd], seed=3).to_record()
    assert first.metrics["stochastic"] and first.metrics["runs"] == ["adaptive", "naive"]
    assert first.metrics["eot_draws"] > 1
    assert again.samples == first.samples


def test_unseen_classes_are_taken_relative_to_what_the_model_was_trained_on() -> None:
    seen = ("airplane", "bottle", "car")
    unseen = bench.load_dataset("procedural40", "test", "unseen", trained_on=seen, points=64)
    assert len(unseen.class_names) == 37 and not set(seen) & set(unseen.class_names)
    kept = bench.load_dataset("procedural40", "test", "seen", trained_on=seen, points=64)
    assert kept.class_names == seen and set(kept.labels.tolist()) == {0, 1, 2}
    with pytest.raises(UsageError, match="trained_on="):
        bench.load_dataset("procedural40", "test", "unseen", points=64)

    method = bench.load_method("ulip", seed=SEED, **smoke_params("methods", "ulip"))
    zero_shot = bench.load_dataset("procedural40", "test", "unseen", trained_on=method)
    assert len(zero_shot.class_names) == 10  # the corpus drops exactly the ModelNet10 names
    with pytest.raises(UsageError, match="trained_on= this method"):
        other = bench.load_dataset("procedural40", "test", "unseen", trained_on=seen)
        bench.evaluate(method, other)


def test_concurrent_evaluations_of_one_cell_compute_it_once(tmp_path: Path) -> None:
    script = (
        "import sys, bench\n"
        "from bench.testing.toys import PointMLPEncoder\n"
        "data = bench.load_dataset('procedural40', 'test', points=128, test_per_class=1)\n"
        "encoder = PointMLPEncoder(seed=0, dim=384)\n"
        "victim = bench.Victim.from_encoder(encoder, data.class_names)\n"
        "pgd = bench.attacks.get('pgd', steps=20)\n"
        "print(bench.evaluate(victim, data, [pgd], store=sys.argv[1]).reused[0])\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-c", script, str(tmp_path)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in "ab"]
    reused = sorted(run.communicate()[0].strip() for run in runs)
    assert [run.returncode for run in runs] == [0, 0]
    assert reused == ["False", "True"]  # one computed it under the claim, the other waited


def test_the_quickstart_example_prints_the_output_its_docs_quote() -> None:
    ran = python(str(ROOT / "examples" / "api_quickstart.py"))
    assert ran.returncode == 0, ran.stderr
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    quoted = re.search(r"and prints:\n\n```\n(.*?)```", text, re.DOTALL)
    assert quoted is not None, "docs/api.md should quote the example's output"
    assert ran.stdout == quoted.group(1)


def test_a_defended_evaluation_makes_the_runs_a_defended_cell_makes(single_thread: None) -> None:
    data = bench.load_dataset("procedural40", "test", points=128, test_per_class=1)
    victim = bench.Victim.from_encoder(PointMLPEncoder(seed=0, dim=384), data.class_names)
    defense = {"name": "srs", "params": {"drop": 32}}  # randomized: EOT, naive, unaware runs
    result = bench.evaluate(
        victim, data, attacks=[bench.attacks.get("pgd", steps=1)], defense=defense
    )
    record = result.to_record()
    assert record.metrics["runs"] == ["adaptive", "naive", "unaware"]
    assert record.labels["defense"] == "srs(drop=32)" and record.metrics["stochastic"]


def test_the_own_encoder_example_ranks_it_beside_miniatures_the_cli_computes_alike(
    tmp_path: Path,
) -> None:
    ran = python(str(ROOT / "examples" / "evaluate_own_encoder.py"), "--quick", home=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "| TinyPointNet@" in ran.stdout and "| 30 declared classes |" in ran.stdout
    site = tmp_path / "site"
    published = python("-m", "bench.cli", "--home", str(tmp_path), "publish", "--out", str(site))
    assert published.returncode == 0, published.stderr
    pages = "".join(page.read_text() for page in site.glob("*.html"))
    assert "TinyPointNet@" in pages and "30 declared classes" in pages  # with its provenance
    stored = {r.labels["method"].split("(")[0]: r for r in Store(tmp_path / "store").scan()}
    assert set(stored) >= {"ulip", "openshape", "dual_denoise"}
    example = stored["dual_denoise"]  # stochastic: the hardest case for equal verdicts

    data = ["points=256", "train_per_class=4", "test_per_class=1"]
    cli = ["-m", "bench.cli", "--home", str(tmp_path), "run", "--method", "dual_denoise"]
    cli += ["--attack", "pgd", "--set", "attack.eps=0.01", "--set", "attack.steps=2"]
    cli += [*smoke_flags("methods", "dual_denoise"), "--rerun"]
    cli += [f"--set={part}.{setting}" for part in ("dataset", "corpus") for setting in data]
    rerun = python(*cli)
    assert rerun.returncode == 0, rerun.stderr
    # The very cell the example stored, computed again by the command line:
    again = Store(tmp_path / "store").get(example.cell_hash)
    assert again is not None and again.provenance["started_at"] != example.provenance["started_at"]
    assert again.samples == example.samples


@pytest.fixture(scope="module")
def miniature() -> bench.Method:
    return bench.load_method("ulip", seed=SEED, **smoke_params("methods", "ulip"))


def test_a_method_classifies_with_another_prompt_set_on_request(miniature: bench.Method) -> None:
    """Prompt transfer crafts on the same weights with other prompts: other class embeddings."""
    names = ("chair", "sofa", "table")
    own, single = miniature.victim(names), miniature.victim(names, templates="single")
    assert not torch.allclose(own.class_embeddings, single.class_embeddings)
    points = bench.load_dataset("procedural40", "test", test_per_class=1).points[:4]
    with torch.no_grad():  # the same cached weights embed the clouds alike
        clouds = [victim.encoder(victim.preprocess(points)) for victim in (own, single)]
    assert torch.equal(*clouds)


# AdvPC's cell first trains an autoencoder on the whole default corpus (half a minute); its
# cell and standalone paths are also held together on a small corpus in test_attack_advpc.py.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n == "advpc" else n
        for n in ATTACKS.names()
        if n not in ("none", "transfer")
    ],
)
def test_each_attack_on_its_own_gives_the_verdicts_of_its_cell(
    name: str, miniature: bench.Method, single_thread: None
) -> None:
    """The cell's code path (which the command line runs, as the test above shows for pgd)
    and the attack called on its own agree, cloud by cloud."""
    attack = bench.attacks.get(name, **smoke_params("attacks", name))
    data = bench.load_dataset("procedural40", "test", test_per_class=1)
    record = bench.evaluate(miniature, data, attacks=[attack]).to_record()
    pairs = zip(record.samples["clean_pred"], record.samples["label"], strict=True)
    attacked = [i for i, (clean, label) in enumerate(pairs) if clean == label]
    assert attacked, "the miniature should classify some clouds correctly"
    victim = miniature.victim(data.class_names + attack.plugin.extra_classes())
    attack = miniature.ready(attack, data)  # its auxiliary network, as the cell trained it
    ids = [data.ids[i] for i in attacked]
    output = attack(victim, data.points[attacked], data.labels[attacked], seed=SEED, ids=ids)
    verdicts = victim.vote(output.points, 1).tolist()
    assert verdicts == [record.samples["adv_pred"][i] for i in attacked]
