"""Released weights: each release builds the official architecture, is found on disk or named
in one sentence, runs end to end from stand-in files in the published layouts, and is labelled
by what it was pre-trained on, with its authors' number beside ours."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.cli import main
from bench.contracts.errors import BenchError, WeightsError
from bench.contracts.plugins import METHODS
from bench.contracts.releases import PretrainingCorpus
from bench.data.procedural.shapes40 import CLASS_NAMES
from bench.plan.command_line import single_cell_spec
from bench.plan.spec import expand
from bench.testing.official import assert_matches_manifest
from bench.testing.public_formats import (
    write_modelnet40_openshape,
    write_openshape_class_embeddings,
)

FIXTURES = Path(__file__).parent / "fixtures" / "official"
MANIFESTS = {  # the official module each release's architecture must equal
    "ulip1-pointbert": "ulip1_pointbert",
    "ulip2-pointbert-10k-xyzrgb": "ulip2_pointbert",
    **{f"openshape-pointbert-{n}": "openshape_pointbert_g14" for n in ("vitg14-rgb", "no-lvis")},
    "openshape-pointbert-shapenet": "openshape_pointbert_g14",
    **{f"uni3d-{s}{v}": f"uni3d_{s}" for s in ("ti", "s", "b", "l", "g") for v in ("", "-no-lvis")},
}
RELEASES = [(m, r) for m in METHODS.names() for r in METHODS.get(m).cls.releases]


@pytest.mark.parametrize(("method", "release"), RELEASES, ids=[r for _, r in RELEASES])
def test_each_release_builds_the_official_architecture(method: str, release: str) -> None:
    cls = METHODS.get(method).cls
    published = cls.releases[release]
    with torch.device("meta"):
        encoder = cls(published.config).build_encoder(published.embed_dim)
    assert_matches_manifest(encoder, FIXTURES / f"{MANIFESTS[release]}.keys.json")


def bench(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """OpenShape's evaluation files and a G14 checkpoint as released, from random weights."""
    from bench.nn.ppat import G14, PpatEncoder

    root = tmp_path_factory.mktemp("released")
    data = write_modelnet40_openshape(root / "modelnet40", per_class=1, points=512)
    features = write_openshape_class_embeddings(data / "cat_name_pt_feat.npy", CLASS_NAMES)
    torch.manual_seed(0)
    state = {f"module.{k}": v for k, v in PpatEncoder(G14).state_dict().items()}
    state["module.logit_scale"] = torch.tensor(2.66)  # the rest of the released model
    file = root / "hub" / "OpenShape" / "openshape-pointbert-vitg14-rgb" / "model.pt"
    file.parent.mkdir(parents=True)
    torch.save({"state_dict": state, "epoch": 200, "step": 1}, file)
    return {"data": data, "features": features, "hub": root / "hub", "file": file}


# OpenShape's protocol with its published class embeddings; a deterministic FPS start keeps the
# test short (the release's own random start makes the victim stochastic, so votes cost more).
OPENSHAPE = [
    "--method", "openshape", "--weights", "official", "--dataset", "modelnet40",
    "--set", "method.text_encoder=precomputed", "--set", "method.fps_start=first",
]  # fmt: skip


def test_a_release_runs_end_to_end_beside_its_reported_number(
    stand_ins: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    env = {"BENCH_CHECKPOINTS": str(stand_ins["hub"]), "BENCH_MODELNET40": str(stand_ins["data"])}
    teacher = ["--set", f"text_encoder.path={stand_ins['features']}"]
    args = ["run", *OPENSHAPE, *teacher, "--attack", "pgd", "--set", "attack.steps=1", "--wide"]
    first = bench(*args, home=tmp_path, **env)  # as a user runs it
    assert first.returncode == 0, first.stderr
    header, _, row = first.stdout.splitlines()[:3]
    columns = dict(zip(header.split(" | "), row.split(" | "), strict=True))
    assert columns["Reported (%)"] == "84.4"  # the OpenShape README's ModelNet40 top-1
    assert columns["Protocol"] == "open vocabulary"  # captions: no class is verifiably unseen
    assert columns["N"] == "40" and columns["Status"] == "ok"
    assert columns["| Method"].startswith("| openshape-pointbert-vitg14-rgb(")

    for name, value in {**env, "BENCH_HOME": str(tmp_path)}.items():
        monkeypatch.setenv(name, value)
    assert main(["results", "--format", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert record["provenance"]["weights"]["kind"] == "openshape-pointbert-vitg14-rgb"
    assert record["provenance"]["reported"]["source"].startswith("OpenShape README")
    assert record["cell"]["weights"]["sha256"] == record["provenance"]["weights"]["sha256"]
    assert main(["publish", "--out", str(tmp_path / "site")]) == 0
    (page,) = [p for p in (tmp_path / "site").glob("*.html") if p.name != "index.html"]
    assert 'title="OpenShape README, model zoo table (top-1)">84.4' in page.read_text()
    # Another file under the same name is another result, never the stored one.
    content = torch.load(stand_ins["file"], weights_only=True)
    content["state_dict"]["module.proj.bias"] += 1
    other = tmp_path / "other.pt"
    torch.save(content, other)
    capsys.readouterr()
    assert main([*args, "--dry-run"]) == 0 and "  stored  " in capsys.readouterr().out
    assert main([*args, "--checkpoint", str(other), "--dry-run"]) == 0
    moved = capsys.readouterr().out
    assert "will run" in moved and record["cell_hash"][:16] not in moved


def test_a_release_with_one_nan_tensor_fails_its_cell(
    stand_ins: dict[str, Path], tmp_path: Path
) -> None:
    content = torch.load(stand_ins["file"], weights_only=True)
    content["state_dict"]["module.proj.weight"][0, 0] = float("nan")
    damaged = tmp_path / "model.pt"
    torch.save(content, damaged)
    env = {"BENCH_CHECKPOINTS": str(stand_ins["hub"]), "BENCH_MODELNET40": str(stand_ins["data"])}
    teacher = ["--set", f"text_encoder.path={stand_ins['features']}"]
    args = ["run", *OPENSHAPE, *teacher, "--attack", "none", "--checkpoint", str(damaged)]
    ran = bench(*args, home=tmp_path / "home", **env)
    assert ran.returncode == 1 and "Traceback" not in ran.stderr
    assert "1 of the" in ran.stderr and "hold NaN or infinite values (proj.weight)" in ran.stderr
    assert "| ok |" not in ran.stdout


def test_without_the_files_each_command_says_what_is_missing(
    stand_ins: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    def error(*args: str) -> str:
        assert main(list(args)) != 0
        message = capsys.readouterr().err.strip()
        assert message.startswith("error: ") and len(message.splitlines()) == 1
        return message

    teacher = ["--set", f"text_encoder.path={stand_ins['features']}"]
    monkeypatch.setenv("BENCH_HOME", str(tmp_path))
    monkeypatch.setenv("BENCH_MODELNET40", str(stand_ins["data"]))
    monkeypatch.setenv("BENCH_CHECKPOINTS", str(tmp_path))
    missing = error("run", *OPENSHAPE, *teacher, "--attack", "none")
    assert "The openshape-pointbert-vitg14-rgb weights are not on this machine" in missing
    assert "huggingface.co/OpenShape/openshape-pointbert-vitg14-rgb" in missing
    assert str(tmp_path / "OpenShape") in missing  # where it looked

    uni3d = error("run", "--method", "uni3d", "--attack", "pgd")
    assert "uni3d has no miniature recipe" in uni3d and "--weights official" in uni3d
    unknown = error("run", "--method", "ulip", "--weights", "ulip9", "--attack", "none")
    assert "has no release 'ulip9'; it has: official, ulip1-pointbert." in unknown
    monkeypatch.setenv("BENCH_CHECKPOINTS", str(stand_ins["hub"]))
    unseen = error("run", *OPENSHAPE, *teacher, "--attack", "none", "--classes", "unseen")
    assert "no class is verifiably unseen" in unseen
    no_teacher = error("run", *OPENSHAPE, "--attack", "none")
    assert "The precomputed teacher needs its file" in no_teacher


def test_a_closed_vocabulary_release_is_zero_shot_on_the_classes_it_never_named(
    stand_ins: dict[str, Path], tmp_path: Path
) -> None:
    """ULIP-1 learned ShapeNet55's synset names: on ModelNet40, 21 classes are among them or
    under one of them (flower pot as "flowerpot", keyboard as "computer keyboard", monitor under
    display, vase under jar, night stand and tv stand under table), the other 19 are unseen."""
    checkpoint = tmp_path / "checkpoint_pointbert.pt"
    checkpoint.write_bytes(b"only hashed while cells are resolved")
    os.environ["BENCH_MODELNET40"] = str(stand_ins["data"])
    try:
        for classes, count in (("unseen", 19), ("seen", 21), (None, 40)):
            spec = single_cell_spec(
                "ulip", "none", "modelnet40", "none", 0, None, [], classes,
                "official", str(checkpoint),
            )  # fmt: skip
            (cell,) = expand(spec)
            assert len(cell.evaluation_data().class_names) == count
            assert cell.corpus.label() == "ShapeNet55 (synset names as text)"
            assert cell.teacher.name == "ulip_text" and cell.weights == "ulip1-pointbert"
    finally:
        del os.environ["BENCH_MODELNET40"]
    seen = PretrainingCorpus("ShapeNet55", ("shapenet55",)).seen(("flower pot", "glass box"))
    assert seen == ["flower pot"]  # "glass box" is not "letter box": only whole names match
    assert PretrainingCorpus("captions", open_vocabulary=True).seen(("chair",)) is None


def test_a_checkpoint_that_pickles_its_arguments_is_read_only_when_trusted(
    tmp_path: Path,
) -> None:
    """ULIP-1's text tower comes out of the released file (here a small open_clip tower in
    ULIP's layout, with the argparse namespace ULIP pickles beside it)."""
    import argparse

    import open_clip

    from bench.text_encoders.ulip_text import UlipText

    tower = open_clip.create_model("ViT-S-32-alt", pretrained=None)
    state = {f"module.{k}": v for k, v in tower.state_dict().items() if not k.startswith("visual")}
    state["module.point_encoder.cls_token"] = torch.zeros(1, 1, 4)
    path = tmp_path / "checkpoint_pointbert.pt"
    torch.save({"state_dict": state, "args": argparse.Namespace(model="ULIP_PointBERT")}, path)
    config = UlipText.Config(checkpoint=str(path), model="ViT-S-32-alt")
    with pytest.raises(WeightsError, match="needs pickle code to load"):
        UlipText(config).encode(["a chair"])
    trusted = UlipText(dataclasses.replace(config, trust_pickle=True))
    ours = trusted.encode(["a point cloud model of chair.", "a point cloud model of lamp."])
    tokens = open_clip.get_tokenizer("ViT-S-32-alt")(["a point cloud model of chair."])
    with torch.no_grad():
        expected = tower.eval().encode_text(tokens).numpy()
    assert ours.shape == (2, 256) and abs(ours[:1] - expected).max() < 1e-5
    del state["module.ln_final.weight"]
    torch.save({"state_dict": state}, path)
    with pytest.raises(BenchError, match=r"missing \(ln_final.weight\)"):
        UlipText(config).encode(["a chair"])


def test_the_entry_files_are_checked_when_read(tmp_path: Path) -> None:
    from baselines.uni3d import ENTRIES, Uni3dMethodConfig
    from bench.contracts.errors import ConfigError
    from bench.contracts.releases import release_table

    releases = release_table(ENTRIES, "uni3d", Uni3dMethodConfig)
    assert list(releases)[0] == "uni3d-b" and releases["uni3d-g"].config.size == "g"
    assert releases["uni3d-b"].code == "https://github.com/baaivision/Uni3D"
    text = (ENTRIES / "uni3d-g.yaml").read_text(encoding="utf-8")
    for broken, message in (
        (text.replace("config: {size: g}\n", "config: {size: xl}\n", 1), "size must be one of"),
        (text.replace("hub: BAAI/Uni3D\n", "hub_repo: BAAI/Uni3D\n", 1), "exactly the keys"),
        (text.replace("sha256: null", "sha256: abc"), "not 64 lower-case hex digits"),
        (text.replace("official: false", "official: true"), "must be official, not 2"),
        (text.replace("name: uni3d-g", "name: uni3d-x"), "not its file's"),
    ):
        folder = tmp_path / message.replace(" ", "-")
        shutil.copytree(ENTRIES, folder)
        (folder / "uni3d-g.yaml").write_text(broken, encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            release_table(folder, "uni3d", Uni3dMethodConfig)


def test_a_file_whose_sha256_is_not_the_one_its_entry_publishes_is_refused(
    tmp_path: Path,
) -> None:
    import hashlib

    from baselines.ulip import Ulip
    from bench.plan.resolve import Resolver

    checkpoint = tmp_path / "checkpoint_pointbert.pt"
    checkpoint.write_bytes(b"a partial download")
    published = hashlib.sha256(b"the whole file").hexdigest()
    release = dataclasses.replace(Ulip.releases["ulip1-pointbert"], sha256=published)
    with pytest.raises(WeightsError, match="not the .* its entry publishes: it is another file"):
        Resolver().release_sha256(release, str(checkpoint))
    checkpoint.write_bytes(b"the whole file")
    assert Resolver().release_sha256(release, str(checkpoint)) == published
