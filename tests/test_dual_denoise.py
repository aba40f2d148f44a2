"""The dual-denoising reconstruction: switches, parallel noise inference, randomness, and a run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from bench.contracts.errors import ConfigError
from bench.testing.conformance import smoke_flags
from bench.testing.toys import toy_clouds
from methods.dual_denoise import DualDenoise
from methods.dual_denoise.config import DualDenoiseConfig
from methods.dual_denoise.decoder import patch_chamfer
from methods.dual_denoise.model import DualDenoiseEncoder

SMOKE = DualDenoise.smoke
DIM = 16


def encoder(config: DualDenoiseConfig = SMOKE) -> DualDenoiseEncoder:
    torch.manual_seed(0)
    return DualDenoiseEncoder(config, DIM).eval()


def clouds(batch: int = 3) -> torch.Tensor:
    return toy_clouds(batch, 256, seed=0)[0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("copies", 0, r"copies must be an integer in \[1, 1024\], not 0"),
        ("t_star", 0.0, r"t_star must be a finite number in \(0, 1\]"),
        ("noise", "sometimes", "noise must be one of 'random', 'fixed'"),
        ("mask_ratio", 1.0, r"mask_ratio must be a finite number in \[0, 1\)"),
        ("sigma_max", float("nan"), "sigma_max must be a finite number"),
        ("fd_width", 30, r"fd_heads must be a divisor of fd_width \(30\)"),
    ],
)
def test_bad_config_values_get_one_sentence(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        replace(DualDenoiseConfig(), **{field: value})


def test_switches_remove_components_and_randomness() -> None:
    full = encoder()
    assert DualDenoise(SMOKE).stochastic
    assert {"decoder", "denoiser"} <= {name for name, _ in full.named_children()}
    bare = encoder(replace(SMOKE, proxy_task=False, feature_denoiser=False))
    assert not {"decoder", "denoiser"} & {name for name, _ in bare.named_children()}
    assert not DualDenoise(replace(SMOKE, feature_denoiser=False)).stochastic
    assert not DualDenoise(replace(SMOKE, noise="fixed")).stochastic
    x = clouds()
    with torch.no_grad():
        assert torch.equal(bare(x), bare(x))


def test_parallel_copies_and_draws_run_in_one_denoiser_pass() -> None:
    model = encoder(replace(SMOKE, copies=8))
    calls = []
    model.denoiser.register_forward_hook(lambda module, args, out: calls.append(args[0].shape))
    with torch.no_grad():
        out = model(clouds(), generator=torch.Generator().manual_seed(0), draws=4)
    assert out.shape == (4, 3, DIM)
    assert calls == [torch.Size([3, 4 * 8, DIM])]
    assert torch.allclose(out.norm(dim=-1), torch.ones(4, 3))


def test_random_noise_follows_the_generator() -> None:
    model, x = encoder(), clouds()
    with torch.no_grad():
        first = model(x, generator=torch.Generator().manual_seed(1))
        again = model(x, generator=torch.Generator().manual_seed(1))
        other = model(x, generator=torch.Generator().manual_seed(2))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_fixed_noise_is_deterministic_and_independent_of_the_batch() -> None:
    model = encoder(replace(SMOKE, noise="fixed"))
    x = clouds(4)
    with torch.no_grad():
        whole = model(x, generator=torch.Generator().manual_seed(1))
        alone = model(x[2:3], generator=torch.Generator().manual_seed(2))
    assert torch.allclose(whole[2:3], alone, atol=1e-6)


def test_one_copy_differs_from_the_mean_of_many() -> None:
    x, gen = clouds(), torch.Generator().manual_seed(0)
    one = encoder(replace(SMOKE, copies=1))
    many = encoder(replace(SMOKE, copies=64))
    many.load_state_dict(one.state_dict())
    with torch.no_grad():
        spread_one = one(x, generator=gen, draws=16).std(dim=0).mean()
        spread_many = many(x, generator=gen, draws=16).std(dim=0).mean()
    assert spread_many < spread_one / 2  # averaging K copies shrinks the draw-to-draw spread


def test_patch_chamfer_is_zero_only_for_equal_sets() -> None:
    patches = torch.randn(2, 3, 8, 3)
    shuffled = patches[:, :, torch.randperm(8)]
    assert patch_chamfer(patches, shuffled) == 0
    assert patch_chamfer(patches + 0.1, patches) > 0


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )


def stored(method_config: dict[str, object]) -> dict:
    records = json.loads(bench("results", "--format", "json").stdout)
    return next(
        r
        for r in records
        if r["cell"]["method"]["name"] == "dual_denoise"
        and r["cell"]["attack"]["config"].get("steps") == 3
        and all(r["cell"]["method"]["config"][k] == v for k, v in method_config.items())
    )


def test_run_stores_naive_and_eot_numbers_reproducibly() -> None:
    tiny = [*smoke_flags("methods", "dual_denoise"), "--set", "dataset.test_per_class=1"]
    args = ["run", "--method", "dual_denoise", "--attack", "pgd", "--set", "attack.steps=3", *tiny]
    first = bench(*args, "--wide")
    assert first.returncode == 0, first.stderr
    record = stored({"noise": "random"})
    metrics = record["metrics"]
    assert metrics["stochastic"] is True and metrics["votes"] == 9
    assert metrics["eot_draws"] == 16 and metrics["gradient_queries"] == 3 * 16
    samples = record["samples"]
    survives = [
        c == y and a == y and n == y
        for c, y, a, n in zip(
            samples["clean_pred"],
            samples["label"],
            samples["adv_pred"],
            samples["adv_pred_naive"],
            strict=True,
        )
    ]  # the worst case: right clean, after the EOT run and after the naive run
    assert metrics["robust_acc"] == sum(survives) / metrics["n"]
    assert metrics["robust_acc"] <= min(metrics["robust_acc_adaptive"], metrics["robust_acc_naive"])
    assert len(record["samples"]["adv_pred_naive"]) == metrics["n"] == 10
    assert "EOT draws" in first.stdout

    again = bench(*args, "--rerun")  # recomputed from scratch, same seed: same numbers
    assert again.returncode == 0, again.stderr
    rerun = stored({"noise": "random"})
    assert rerun["samples"] == record["samples"]
    assert rerun["provenance"]["weights"]["trained_now"] is False

    fixed = bench(*args, "--set", "method.noise=fixed")  # inference-only: same weights
    assert fixed.returncode == 0, fixed.stderr
    deterministic = stored({"noise": "fixed"})
    assert deterministic["metrics"]["stochastic"] is False
    assert deterministic["metrics"]["eot_draws"] == 1
    assert deterministic["provenance"]["weights"]["trained_now"] is False
    assert (
        deterministic["provenance"]["weights"]["sha256"]
        == record["provenance"]["weights"]["sha256"]
    )


def test_unattacked_clouds_keep_their_clean_verdict() -> None:
    tiny = [*smoke_flags("methods", "dual_denoise"), "--set", "dataset.test_per_class=1"]
    ran = bench("run", "--method", "dual_denoise", "--attack", "none", *tiny)
    assert ran.returncode == 0, ran.stderr
    records = json.loads(bench("results", "--format", "json").stdout)
    (record,) = [
        r
        for r in records
        if r["cell"]["method"]["name"] == "dual_denoise" and r["cell"]["attack"]["name"] == "none"
    ]
    samples = record["samples"]  # a stochastic victim: a second vote could differ
    assert samples["adv_pred"] == samples["clean_pred"]
    assert record["metrics"]["robust_acc"] == record["metrics"]["clean_acc"]
