"""The indicators table: every sentence a record keeps is recognised as its indicator, codes and
letters are unique, and the sentences of the committed comparison are all from the table."""

from __future__ import annotations

import string
from pathlib import Path

import pandas as pd
import pytest

from bench.contracts.indicators import BY_CODE, INDICATORS, indicator_of, warn

ROOT = Path(__file__).resolve().parent.parent


def test_codes_and_letters_are_unique() -> None:
    assert len(BY_CODE) == len(INDICATORS)
    assert len({i.letter for i in INDICATORS}) == len(INDICATORS)


@pytest.mark.parametrize("indicator", INDICATORS, ids=lambda i: i.code)
def test_every_sentence_is_recognised_with_or_without_a_label(indicator: object) -> None:
    fields = {f: "12.5" for _, f, _, _ in string.Formatter().parse(indicator.sentence) if f}
    sentence = warn(indicator.code, **fields)
    assert indicator_of(sentence) is indicator
    assert indicator_of(f"pgd(eps=0.01): {sentence}") is indicator
    # A member of a sequence, on a page that labels the cell's attack too.
    assert indicator_of(f"standard(eps=0.01): apgd-ce: {sentence}") is indicator


def test_a_sentence_no_indicator_says_is_none() -> None:
    assert indicator_of("the moon is made of cheese") is None


def test_the_committed_records_speak_only_the_tables_sentences() -> None:
    cells = pd.read_parquet(ROOT / "docs" / "comparison-site" / "data" / "cells.parquet")
    sentences = [w for joined in cells["warnings"] if joined for w in joined.split("; ")]
    assert sentences, "the committed comparison has flagged cells"
    assert [s for s in sentences if indicator_of(s) is None] == []
