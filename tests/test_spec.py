"""Config validation, YAML 1.2 scalars, spec expansion and cell hashing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.contracts.config import build_config, load_yaml, parse_value
from bench.contracts.errors import ConfigError, SpecError, UnknownPluginError
from bench.running.spec import expand, load_spec, resolve, single_cell_spec


def test_yaml_scalars_follow_yaml_1_2() -> None:
    data = load_yaml("a: 1e-2\nb: no\nc: 010\nd: true\ne: .5\nf: -3")
    assert data == {"a": 0.01, "b": "no", "c": 10, "d": True, "e": 0.5, "f": -3}


def test_values_are_type_checked() -> None:
    cls = resolve("attack", "pgd", "x")[0].config.__class__
    assert build_config(cls, {"eps": 1}, "pgd").eps == 1.0  # int widens to float
    with pytest.raises(ConfigError, match="must be of type float"):
        build_config(cls, {"eps": "1e-2"}, "pgd")
    with pytest.raises(ConfigError, match="must be of type bool"):
        build_config(cls, {"random_start": "no"}, "pgd")
    with pytest.raises(ConfigError, match="Did you mean 'eps'"):
        build_config(cls, {"epss": 0.1}, "pgd")


def test_explicit_default_and_omitted_value_hash_the_same() -> None:
    implicit = expand({"methods": ["ulip"], "attacks": ["pgd"]})
    explicit = expand({"methods": ["ulip"], "attacks": [{"name": "pgd", "params": {"eps": 0.05}}]})
    assert implicit[0].hash == explicit[0].hash
    other = expand({"methods": ["ulip"], "attacks": [{"name": "pgd", "params": {"eps": 0.02}}]})
    assert other[0].hash != implicit[0].hash


def test_sweep_and_product_expansion(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(
        "methods: [ulip]\n"
        "attacks:\n  - none\n  - {name: pgd, sweep: {eps: [0.01, 0.02, 0.05]}}\n"
        "seeds: [0, 1]\n"
    )
    cells = load_spec(path)
    assert len(cells) == (1 + 3) * 2
    assert len({c.hash for c in cells}) == len(cells)
    assert sorted({c.attack.config.eps for c in cells if c.attack.name == "pgd"}) == [
        0.01,
        0.02,
        0.05,
    ]


def test_preset_resolves_to_its_values() -> None:
    cell = expand({"methods": ["ulip"], "attacks": [{"name": "pgd", "preset": "standard"}]})[0]
    assert (cell.attack.config.eps, cell.attack.config.steps) == (0.05, 200)
    assert cell.attack.config.step_size == pytest.approx(0.005)
    with pytest.raises(ConfigError, match="no preset 'strong'"):
        expand({"methods": ["ulip"], "attacks": [{"name": "pgd", "preset": "strong"}]})


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ({"methods": ["ulip"]}, SpecError, "needs a non-empty 'attacks'"),
        ({"methods": ["ulip"], "attacks": ["pgd"], "seed": [0]}, SpecError, "unknown keys"),
        ({"methods": ["ulip"], "attacks": ["pgd"], "seeds": ["0"]}, SpecError, "integers"),
        ({"methods": ["ulipp"], "attacks": ["pgd"]}, UnknownPluginError, "Did you mean 'ulip'"),
        (
            {"methods": ["ulip"], "attacks": [{"name": "pgd", "sweep": {"eps": 0.1}}]},
            SpecError,
            "non-empty lists",
        ),
        (
            {"methods": ["ulip"], "attacks": [{"name": "pgd", "params": {"eps": -1.0}}]},
            ConfigError,
            "eps",
        ),
    ],
)
def test_bad_specs_fail_with_one_sentence(spec: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        expand(spec)


def test_set_overrides_reach_the_right_plugin() -> None:
    spec = single_cell_spec(
        "ulip", "pgd", "procedural40", "none", 3, None, ["attack.eps=0.02", "pgd.steps=5"]
    )
    cell = expand(spec)[0]
    assert (cell.attack.config.eps, cell.attack.config.steps, cell.seed) == (0.02, 5, 3)
    with pytest.raises(ConfigError, match="plugin.key=value"):
        single_cell_spec("ulip", "pgd", "procedural40", "none", 0, None, ["eps=0.1"])
    with pytest.raises(ConfigError, match="none of method"):
        single_cell_spec("ulip", "pgd", "procedural40", "none", 0, None, ["foo.eps=0.1"])
    assert parse_value("[1, 2]") == [1, 2]


def test_teacher_is_configured_and_hashed_with_the_cell() -> None:
    default = expand(single_cell_spec("ulip", "none", "procedural40", "none", 0, None, []))[0]
    assert default.teacher.name == "minilm"
    configured = expand(
        single_cell_spec(
            "ulip",
            "none",
            "procedural40",
            "none",
            0,
            None,
            ["method.text_encoder=open_clip", "text_encoder.pretrained=weights.bin"],
        )
    )[0]
    assert configured.teacher.name == "open_clip"
    assert configured.teacher.config.pretrained == "weights.bin"
    assert configured.hash != default.hash
    assert configured.identity()["teacher"]["config"]["pretrained"] == "weights.bin"
    with pytest.raises(ConfigError, match="'minilm' has no parameter 'pretrained'"):
        expand(
            single_cell_spec(
                "ulip", "none", "procedural40", "none", 0, None, ["text_encoder.pretrained=x"]
            )
        )
    with pytest.raises(SpecError, match="'teachers' must map"):
        expand({"methods": ["ulip"], "attacks": ["none"], "teachers": ["minilm"]})


def test_the_shipped_comparison_spec_expands_by_name() -> None:
    cells = load_spec(Path("comparison"))
    assert len(cells) == 7 * 2 * 4
    labels = {cell.method.label() for cell in cells}
    assert {
        "ulip",
        "openshape",
        "dual_denoise",
        "dual_denoise(noise=fixed)",
        "dual_denoise(proxy_task=False)",
        "dual_denoise(feature_denoiser=False)",
        "dual_denoise(copies=1)",
    } == labels
    budgets = {cell.attack.config.eps for cell in cells if cell.attack.name == "pgd"}
    assert budgets == {0.01, 0.02, 0.05}
    with pytest.raises(SpecError, match="shipped specs: comparison"):
        load_spec(Path("no_such_spec"))
