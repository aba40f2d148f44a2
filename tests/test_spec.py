"""Config validation, YAML 1.2 scalars, spec expansion and cell hashing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.contracts.concepts import seen_names
from bench.contracts.config import build_config, load_yaml, parse_value
from bench.contracts.errors import (
    ConfigError,
    DataError,
    SpecError,
    UnknownPluginError,
    WeightsError,
)
from bench.data.classes import VALIDATION, subset_names
from bench.plan.command_line import single_cell_spec
from bench.plan.spec import expand, load_spec, resolve


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
    cell = expand({"methods": ["ulip"], "attacks": [{"name": "pgd", "preset": "paper"}]})[0]
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
        ({"methods": ["ulip"], "attacks": [{"name": "pgd", "params": [1]}]}, SpecError, "map"),
        ({"methods": [{"name": 5}], "attacks": ["pgd"]}, SpecError, "must be a plugin name"),
        ({"name": 5, "methods": ["ulip"], "attacks": ["pgd"]}, SpecError, "'name' must be text"),
        ({"methods": ["ulip"], "attacks": [{"name": "pgd", "preset": 1}]}, SpecError, "preset"),
        (
            {"methods": ["ulip"], "attacks": ["pgd"], "teachers": {"open_clp": {}}},
            SpecError,
            "configures 'open_clp', which is not the text encoder of any method",
        ),
        (
            {
                "methods": ["ulip"],
                "attacks": [{"name": "pgd", "params": {"eps": 0.1}, "sweep": {"eps": [0.2]}}],
            },
            SpecError,
            r"sets \['eps'\] in both 'params' and 'sweep'",
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


def teacher_cell(*settings: str):  # type: ignore[no-untyped-def]
    spec = single_cell_spec("ulip", "none", "procedural40", "none", 0, None, list(settings))
    return expand(spec)[0]


def test_teacher_and_the_contents_of_its_weights_file_are_part_of_the_cell(
    tmp_path: Path,
) -> None:
    default = teacher_cell()
    assert default.teacher.name == "minilm"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"first weights")
    flags = ["method.text_encoder=open_clip", f"text_encoder.pretrained={weights}"]
    configured = teacher_cell(*flags)
    assert configured.teacher.name == "open_clip"
    assert configured.hash != default.hash
    identity = configured.identity()
    assert identity["teacher"]["config"]["pretrained"] == str(weights)
    assert identity["teacher"]["identity"] == identity["training"]["teacher"]
    weights.write_bytes(b"other weights, same path")  # new contents: a new cell and new weights
    changed = teacher_cell(*flags)
    assert changed.hash != configured.hash
    assert changed.training.identity() != configured.training.identity()
    on_gpu = teacher_cell(*flags, "text_encoder.device=cuda")  # where it runs is not hashed
    assert on_gpu.hash == changed.hash
    weights.unlink()
    with pytest.raises(WeightsError, match="weights file .* does not exist"):
        teacher_cell(*flags)
    with pytest.raises(ConfigError, match="'minilm' has no parameter 'pretrained'"):
        teacher_cell("text_encoder.pretrained=x")
    with pytest.raises(SpecError, match="'teachers' must map"):
        expand({"methods": ["ulip"], "attacks": ["none"], "teachers": ["minilm"]})


def test_corpus_seed_and_class_subset_are_part_of_the_cell() -> None:
    base = teacher_cell()
    assert base.corpus.label() == "procedural40/train[modelnet40_minus_10]"
    assert base.classes == "unseen"  # zero-shot by default
    swapped = teacher_cell("corpus.classes=modelnet10")  # unseen: the other 30 names but one
    assert swapped.hash != base.hash and swapped.training.identity() != base.training.identity()
    unseen = swapped.evaluation_data().class_names
    assert len(unseen) == 29 and "tv stand" not in unseen  # a stand is a table: seen
    with pytest.raises(DataError, match="no class names unseen in training"):
        teacher_cell("corpus.classes=all")  # every name seen: nothing to test zero-shot
    smaller = teacher_cell("corpus.train_per_class=30")  # a corpus dataset parameter
    assert (
        smaller.training.identity()["corpus"]["fingerprint"]
        != (base.training.identity()["corpus"]["fingerprint"])
    )
    reseeded = expand(single_cell_spec("ulip", "none", "procedural40", "none", 1, None, []))[0]
    assert reseeded.training.identity()["seed"] == 1 and reseeded.hash != base.hash
    every = expand(
        {
            "methods": ["ulip"],
            "attacks": ["none"],
            "datasets": [{"name": "procedural40", "classes": "all"}],
        }
    )[0]
    assert every.identity()["classes"] == "all"
    assert every.identity()["data_fingerprint"] != base.identity()["data_fingerprint"]
    unseen = base.evaluation_data()
    assert len(unseen.class_names) == 10 and "toilet" in unseen.class_names
    assert len(unseen) == 500  # 50 test clouds per class
    assert base.training.identity()["corpus"]["text"] == "prompts"
    captioned = teacher_cell("corpus.text=captions")
    assert captioned.training.identity()["corpus"]["text"] == "captions"
    assert captioned.hash != base.hash
    with pytest.raises(SpecError, match="'classes' must be one of all, unseen, seen, modelnet10"):
        expand({"methods": ["ulip"], "attacks": ["none"], "corpus": {"classes": "most"}})


def test_the_shipped_specs_expand_by_name() -> None:
    cells = load_spec(Path("comparison"))
    assert len(cells) == 3 * 1 * 7 * 3  # methods x datasets x attacks x seeds
    assert {cell.method.label() for cell in cells} == {"ulip", "openshape", "dual_denoise"}
    assert {cell.classes for cell in cells} == {"unseen"}
    assert {cell.corpus.label() for cell in cells} == {"procedural40/train[modelnet40_minus_10]"}
    assert {cell.seed for cell in cells} == {0, 1, 2}
    ablations, scan = load_spec(Path("ablations")), load_spec(Path("scan"))
    assert len(ablations) == 5 * 3 * 3 and len(scan) == 3 * 3 * 3
    pgd = [c.attack.config for c in cells if c.attack.name == "pgd"]
    assert len(pgd) == 27  # eps / 10 steps, so 200 steps search rather than creep:
    assert all(c.step_size == pytest.approx(c.eps / 10) and c.steps == 200 for c in pgd)
    # Every spec that ranks runs the ranking attack at each PGD budget, PGD beside it.
    for ranked in (cells, ablations, scan):
        by_attack = [
            {(c.method.label(), c.seed, c.attack.config.eps) for c in ranked if c.attack.name == a}
            for a in ("pgd", "standard")
        ]
        assert by_attack[0] == by_attack[1] and by_attack[0]
    assert {cell.classes for cell in load_spec(Path("generalised"))} == {"all"}
    transfer = [c for c in load_spec(Path("transfer")) if c.attack.name != "none"]
    assert len(transfer) == 9 + 3  # every target x every source, and prompt transfer
    prompted = [c for c in transfer if c.attack.config.templates == "single"]
    assert {(c.method.name, c.attack.config.source) for c in prompted} == {
        (m, m) for m in ("ulip", "openshape", "dual_denoise")
    }
    field = load_spec(Path("field"))  # the field's table: every attack behind every defense
    table = [c for c in field if c.attack.name not in ("transfer", "open_target")]
    assert len(table) == 3 * 9 * 4 and len(field) == len(table) + 3 * 4
    assert {c.defense.name for c in table} == {"none", "sor", "srs", "dup_net"}
    assert all(c.defense_auxiliary is not None for c in table if c.defense.name == "dup_net")
    with pytest.raises(
        SpecError,
        match="shipped specs: ablations, attacks, comparison, field, generalised, scan,"
        " transfer, validation",
    ):
        load_spec(Path("no_such_spec"))


def test_the_attack_sanity_spec_covers_every_attack_and_defense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench.contracts.plugins import ATTACKS, DEFENSES

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # where `attacks/` is a directory
    cells = load_spec(Path("attacks"))
    assert {c.attack.name for c in cells} == set(ATTACKS.names())
    assert {c.defense.label() for c in cells} == {*DEFENSES.names(), "sor(bpda=False)"}
    assert {c.method.name for c in cells} == {"ulip", "openshape", "dual_denoise"}
    assert all(c.classes == "unseen" for c in cells)


def test_recipes_are_chosen_on_validation_classes_apart_from_training_and_test() -> None:
    cells = load_spec(Path("validation"))
    assert len(cells) == (3 * 2 + 1) * 3  # methods x text sources, OpenShape's switch; x seeds
    assert {c.attack.name for c in cells} == {"none"}
    corpus = cells[0].corpus.load().class_names
    evaluated = cells[0].evaluation_data().class_names
    test = load_spec(Path("comparison"))[0].evaluation_data().class_names
    assert len(corpus) == 25 and evaluated == VALIDATION
    assert len(cells[0].evaluation_data()) == 5 * 100
    # Disjoint by concept, not only by string: validation is unseen by its corpus, and the test
    # classes are related to neither.
    assert seen_names(evaluated, corpus) == [] and seen_names(test, corpus + evaluated) == []
    assert {c.corpus.text for c in cells} == {"prompts", "captions"}
    assert {c.method.label() for c in cells} == {
        "ulip",
        "openshape",
        "openshape(hard_negatives=False)",
        "dual_denoise",
    }
    with pytest.raises(DataError, match="needs the classes 'bench', 'bookshelf'"):
        subset_names(("chair", "table"), "validation")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"methods: [ulip]\nattacks: [none]\nmethods: [openshape]\n", "'methods' appears twice"),
        (b"methods: [ulip]\nattacks: [{name: pgd, params: {eps: 1, eps: 2}}]\n", "'eps' appears"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe", "is not a text file"),
        (b"methods: [ulip\n", r"is not valid YAML: expected ',' or '\]'.* at line 2"),
    ],
)
def test_bad_spec_files_fail_with_one_sentence(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(content)
    with pytest.raises(SpecError, match=message) as caught:
        load_spec(path)
    assert "\n" not in str(caught.value)


def test_also_adds_the_products_of_its_entries_without_duplicates() -> None:
    spec = {
        "methods": ["ulip"],
        "attacks": ["none", "pgd"],
        "defenses": ["none"],
        "also": [{"attacks": ["pgd", "noise"], "defenses": ["sor"]}, {"seeds": [0]}],
    }
    cells = expand(spec)
    assert sorted((c.attack.name, c.defense.name) for c in cells) == [
        ("noise", "sor"),
        ("none", "none"),
        ("pgd", "none"),
        ("pgd", "sor"),
    ]
    with pytest.raises(SpecError, match="'also' must be a list of mappings"):
        expand({**spec, "also": {"attacks": ["pgd"]}})
    with pytest.raises(SpecError, match="also\\[0\\] has unknown keys"):
        expand({**spec, "also": [{"attack": ["pgd"]}]})
