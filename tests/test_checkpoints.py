"""Published checkpoints: files written in the released layouts (top-level key, "module."
prefix, the CLIP side beside the encoder) load strictly; wrong files are one clear error."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from bench.contracts.errors import NonFiniteError, WeightsError
from bench.contracts.releases import OPENSHAPE_LAYOUT as OPENSHAPE
from bench.contracts.releases import ULIP_LAYOUT as ULIP
from bench.contracts.releases import UNI3D_LAYOUT as UNI3D
from bench.nn.backbone import ULIP1, PointBertEncoder
from bench.nn.checkpoints import load_published
from bench.nn.ppat import G14, PpatEncoder
from bench.nn.uni3d import UNI3D_TI, Uni3dEncoder


def released(module: torch.nn.Module, path: Path, **extra: object) -> Path:
    """A checkpoint as ULIP and OpenShape release them: the DDP-prefixed state dict of the whole
    model (encoder plus other towers) under "state_dict", beside training state."""
    state = {f"module.{k}": v.clone() for k, v in module.state_dict().items()}
    state["module.logit_scale"] = torch.tensor(2.659)  # the CLIP side: not the encoder's
    state["module.visual.proj"] = torch.zeros(4, 4)
    torch.save({"state_dict": state, "epoch": 10, "best_acc1": 60.3, **extra}, path)
    return path


@pytest.mark.parametrize(
    ("build", "layout"),
    [(lambda: PointBertEncoder(ULIP1), ULIP), (lambda: PpatEncoder(G14), OPENSHAPE)],
    ids=["ulip1", "openshape_g14"],
)
def test_a_released_full_size_checkpoint_loads_strictly(tmp_path: Path, build, layout) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    source = build()
    path = released(source, tmp_path / "model.pt")
    target = build()
    digest = load_published(target, path, layout)
    assert len(digest) == 64
    for (name, a), (_, b) in zip(
        source.state_dict().items(), target.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def test_missing_unexpected_and_misshapen_tensors_are_listed(tmp_path: Path) -> None:
    encoder = PointBertEncoder(ULIP1)
    path = released(encoder, tmp_path / "model.pt")
    content = torch.load(path, weights_only=True)
    del content["state_dict"]["module.pc_projection"]
    content["state_dict"]["module.point_encoder.extra.weight"] = torch.zeros(1)
    torch.save(content, path)
    listed = r"1 of the encoder's tensors are missing \(pc_projection\); 1 are not the encoder's"
    with pytest.raises(WeightsError, match=listed + r" \(point_encoder.extra.weight\)"):
        load_published(encoder, path, ULIP)
    content = torch.load(released(encoder, tmp_path / "b.pt"), weights_only=True)
    content["state_dict"]["module.pc_projection"] = torch.zeros(768, 1280)  # a ULIP-2 head
    torch.save(content, tmp_path / "b.pt")
    with pytest.raises(WeightsError, match=r"pc_projection is \(768, 1280\), not \(768, 512\)"):
        load_published(encoder, tmp_path / "b.pt", ULIP)
    with pytest.raises(WeightsError, match="has no tensor named module.ppat"):
        load_published(PpatEncoder(G14), released(encoder, tmp_path / "c.pt"), OPENSHAPE)
    torch.save({"model": {}}, tmp_path / "d.pt")
    with pytest.raises(WeightsError, match="has no 'state_dict' entry"):
        load_published(encoder, tmp_path / "d.pt", ULIP)
    (tmp_path / "e.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable torch checkpoint"):
        load_published(encoder, tmp_path / "e.pt", ULIP)
    with pytest.raises(WeightsError, match="does not exist"):
        load_published(encoder, tmp_path / "none.pt", ULIP)


def test_a_file_that_needs_pickle_code_is_refused_unless_trusted(tmp_path: Path) -> None:
    encoder = PointBertEncoder(ULIP1)
    # Released training checkpoints often pickle their argparse namespace, an arbitrary class.
    path = released(encoder, tmp_path / "model.pt", args=argparse.Namespace(lr=3e-3))
    with pytest.raises(
        WeightsError, match=r"needs pickle code to load \(it names argparse.Namespace\)"
    ):
        load_published(encoder, path, ULIP)
    assert len(load_published(encoder, path, ULIP, trust_pickle=True)) == 64


class _CopiesAFile:
    """What a hostile checkpoint pickles: a call of an importable function when it loads."""

    def __init__(self, source: Path, target: Path) -> None:
        self.source, self.target = source, target

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return shutil.copyfile, (str(self.source), str(self.target))


def test_trust_pickle_admits_only_what_released_checkpoints_pickle(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    encoder = PointBertEncoder(ULIP1)
    # Saved arguments and numpy numbers: admitted with trust_pickle, and listed.
    numbers = {"args": argparse.Namespace(lr=3e-3), "best_acc1": np.float64(60.3)}
    path = released(encoder, tmp_path / "model.pt", **numbers)
    assert len(load_published(encoder, path, ULIP, trust_pickle=True)) == 64
    admitted = caplog.records[-1].getMessage()
    assert "was read with trust_pickle, admitting" in admitted
    for name in ("argparse.Namespace", "multiarray.scalar", "numpy.dtype", "Float64DType"):
        assert name in admitted
    # A function that runs when the file loads: refused even with trust_pickle, before it ran.
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    copied = tmp_path / "copied.txt"
    hostile = released(encoder, tmp_path / "hostile.pt", args=_CopiesAFile(secret, copied))
    with pytest.raises(WeightsError, match="names shutil.copyfile, which no released checkpoint"):
        load_published(encoder, hostile, ULIP, trust_pickle=True)
    assert not copied.exists()


def test_a_checkpoint_with_a_non_finite_tensor_is_refused(tmp_path: Path) -> None:
    encoder = PpatEncoder(G14)
    state = {f"module.{k}": v.clone() for k, v in encoder.state_dict().items()}
    state["module.proj.weight"][0, 0] = float("nan")
    torch.save({"state_dict": state}, tmp_path / "model.pt")
    with pytest.raises(NonFiniteError, match=r"1 of the \d+ tensors of the encoder in .* NaN"):
        load_published(encoder, tmp_path / "model.pt", OPENSHAPE)


def test_safetensors_files_load_without_a_top_level_entry(tmp_path: Path) -> None:
    encoder = PointBertEncoder(ULIP1)
    flat = {f"module.{k}": v.contiguous() for k, v in encoder.state_dict().items()}
    save_file(flat, tmp_path / "model.safetensors")
    load_published(PointBertEncoder(ULIP1), tmp_path / "model.safetensors", ULIP)


def test_a_released_uni3d_checkpoint_in_float16_loads_into_float32(tmp_path: Path) -> None:
    torch.manual_seed(0)
    source = Uni3dEncoder(UNI3D_TI)
    half = {k: v.half() if v.is_floating_point() else v for k, v in source.state_dict().items()}
    torch.save({"module": half, "epoch": 5}, tmp_path / "model.pt")
    target = Uni3dEncoder(UNI3D_TI)
    load_published(target, tmp_path / "model.pt", UNI3D)
    for name, value in target.state_dict().items():
        assert value.dtype == source.state_dict()[name].dtype
        assert torch.equal(value, half[name].to(value.dtype)), name
    prefixed = {f"module.{k}": v for k, v in half.items()}  # main.py strips this when present
    torch.save({"module": prefixed}, tmp_path / "prefixed.pt")
    load_published(Uni3dEncoder(UNI3D_TI), tmp_path / "prefixed.pt", UNI3D)
