"""Unseen-ness by concept: a corpus with a synonym or a hypernym of a class has seen it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bench.contracts.cloudset import CloudSet
from bench.contracts.concepts import TABLE, ancestors, concept_of, fold, load_concepts, seen_names
from bench.contracts.errors import DataError
from bench.data.classes import MODELNET10, MODELNET40, subset_names
from bench.datasets.scanobjectnn import CLASS_NAMES as SCANOBJECTNN
from bench.evaluation.summary import generalised
from bench.plan.corpus import Corpus

SYNSETS = TABLE.with_name("shapenet55_synsets.txt")
MINUS_10 = tuple(name for name in MODELNET40 if name not in MODELNET10)


def shapenet55() -> dict[str, list[str]]:
    """ShapeNet's synset ids with their lemmas, as its taxonomy lists them."""
    rows = [line.split("\t") for line in SYNSETS.read_text().splitlines() if line[:1].isdigit()]
    return {synset: [lemma for lemma in lemmas.split(",") if lemma] for synset, lemmas in rows}


def shapenet55_names() -> tuple[str, ...]:
    """ShapeNet-55's class names: each synset's first lemma (bench.datasets.shapenet55)."""
    return tuple(lemmas[0] for lemmas in shapenet55().values())


def test_a_corpus_holding_display_has_seen_monitor() -> None:
    assert seen_names(("monitor", "chair"), ("display", "airplane")) == ["monitor"]
    assert concept_of("monitor") != concept_of("display")  # a hypernym, not a synonym
    assert concept_of("display") in ancestors(concept_of("monitor"))


def test_a_synonym_or_a_spelling_counts_as_the_class() -> None:
    assert seen_names(("sofa", "flower pot", "trash can"), ("couch", "flowerpot", "ashcan")) == [
        "flower pot",
        "sofa",
        "trash can",
    ]
    assert seen_names(("Night_Stand",), ("night-stand",)) == ["Night_Stand"]


def test_a_hypernym_in_the_corpus_makes_its_hyponyms_seen() -> None:
    assert seen_names(("bookshelf", "mantel", "chair"), ("shelf",)) == ["bookshelf", "mantel"]
    assert seen_names(("night stand", "tv stand", "desk"), ("table",)) == [
        "night stand",
        "tv stand",
    ]  # WordNet files a desk under furniture, not under table


def test_a_hyponym_does_not_make_its_hypernym_seen() -> None:
    assert seen_names(("display",), ("monitor",)) == []
    assert seen_names(("shelf", "table"), ("bookshelf", "mantel", "tv stand")) == []
    assert seen_names(("bin",), ("ashcan",)) == []


def test_a_name_the_table_lacks_is_seen_by_its_exact_folded_name_only() -> None:
    assert concept_of("Aerosol_Can") == "aerosol can"
    assert ancestors("aerosol can") == frozenset()
    assert seen_names(("aerosol can", "spray can"), ("aerosol-can",)) == ["aerosol can"]


@pytest.mark.parametrize(
    "dataset",
    [MODELNET40, SCANOBJECTNN, shapenet55_names()],
    ids=["modelnet40", "scanobjectnn", "shapenet55"],
)
def test_every_shipped_class_name_has_a_concept(dataset: tuple[str, ...]) -> None:
    table = load_concepts(TABLE)
    missing = [name for name in dataset if table.concept_of(name) not in table.parents]
    assert not missing, f"class names missing from the concept table: {missing}"


def test_shapenet_synsets_keep_their_ids_and_lemmas() -> None:
    """Every lemma of a ShapeNet synset names that synset, except "phone", which ShapeNet gives
    to both earphone and telephone and the table gives to telephone."""
    for synset, lemmas in shapenet55().items():
        for lemma in lemmas:
            if lemma == "phone" or fold(lemma) == "passenger vehi":  # ShapeNet truncates bus
                continue
            assert concept_of(lemma) == synset, lemma
    assert concept_of("phone") == "04401088"


def test_the_shipped_comparison_stays_zero_shot() -> None:
    """procedural40's corpus (the 30 non-ModelNet10 classes) has no concept of the 10
    evaluated ones nor a hypernym of them: the evaluated subset, hence its fingerprint and the
    cells' hashes, is what exact names gave."""
    assert subset_names(MODELNET40, "modelnet40_minus_10") == MINUS_10
    assert seen_names(MODELNET10, MINUS_10) == []
    assert subset_names(MODELNET40, "unseen", MINUS_10) == MODELNET10


def test_scanobjectnn_seen_by_the_published_corpora() -> None:
    assert seen_names(SCANOBJECTNN, shapenet55_names()) == [
        "bag", "bed", "cabinet", "chair", "display", "pillow", "sofa", "table",
    ]  # fmt: skip
    assert seen_names(SCANOBJECTNN, MINUS_10) == ["door", "sink"]
    assert {"flower pot", "monitor", "vase", "night stand", "tv stand"} <= set(
        seen_names(MODELNET40, shapenet55_names())
    )  # beyond exact names: a flowerpot, a display, a jar, a table


@dataclass(frozen=True)
class _Stored:
    """A dataset choice whose split is a fixed cloud set."""

    data: CloudSet

    def instantiate(self) -> _Stored:
        return self

    def load(self, split: str) -> CloudSet:
        return self.data


def _cloudset(names: tuple[str, ...]) -> CloudSet:
    count = len(names)
    points = np.zeros((count, 4, 3), dtype=np.float32)
    labels = np.arange(count, dtype=np.int64)
    return CloudSet(points, labels, names, tuple(f"s{i}" for i in range(count)), "fp")


def test_a_corpus_and_the_subsets_it_defines_go_by_concept() -> None:
    corpus = Corpus(_Stored(_cloudset(("display", "shelf", "chair"))))  # type: ignore[arg-type]
    evaluated = ("monitor", "bookshelf", "chair", "shelf", "toilet", "display")
    seen = corpus.seen(evaluated)
    assert seen == ["bookshelf", "chair", "display", "monitor", "shelf"]
    assert subset_names(evaluated, "unseen", corpus.load().class_names) == ("toilet",)
    assert subset_names(evaluated, "seen", set(seen)) == tuple(n for n in evaluated if n in seen)


def test_generalised_accuracy_splits_by_concept() -> None:
    outcome = {"label": [0, 0, 1, 1], "clean_pred": [0, 0, 1, 0], "adv_pred": [0, 1, 1, 0]}
    metrics = generalised(outcome, ("monitor", "toilet"), trained={"display"})
    assert metrics["clean_acc_seen"] == 1.0 and metrics["clean_acc_unseen"] == 0.5


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1\tchair\t2\t\n", "ancestor '2', which has no row"),
        ("1\tchair\t2\t\n2\tseat\t1\t\n", "its own ancestor"),
        ("1\tchair\t\t\n2\tChair\t\t\n", "already in '1'"),
        ("1\tchair\t\t\n1\tseat\t\t\n", "repeats the concept '1'"),
        ("1\tchair\n", "4 tab-separated columns"),
        ("\tchair\t\t\n", "4 tab-separated columns"),
    ],
    ids=["unknown-ancestor", "cycle", "name-twice", "id-twice", "columns", "no-id"],
)
def test_a_malformed_table_is_one_clear_error(tmp_path: Path, rows: str, message: str) -> None:
    path = tmp_path / "concepts.tsv"
    path.write_text("# a comment\n" + rows, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_concepts(path)


def test_a_well_formed_table_loads(tmp_path: Path) -> None:
    path = tmp_path / "concepts.tsv"
    path.write_text("1\tseat\t\t\n2\tchair,arm-chair\t1\ta note\n", encoding="utf-8")
    table = load_concepts(path)
    assert table.concept_of("Arm_Chair") == "2" and table.ancestors("2") == frozenset({"1"})
    assert table.seen_names(("chair", "seat"), ("seat",)) == ["chair", "seat"]
