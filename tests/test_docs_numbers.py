"""The numbers the docs quote are those of the committed data.

`docs/generate.py` writes every block marked `<!-- generated: NAME -->` in README.md and
docs/*.md from the comparison site's Parquet files and the methods' release objects; these
tests fail, naming the block, when a quoted number no longer matches.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_generator() -> ModuleType:
    """`docs/generate.py` as `python docs/generate.py` runs it: its folder on the import path."""
    if str(ROOT / "docs") not in sys.path:
        sys.path.insert(0, str(ROOT / "docs"))
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


generate = load_generator()
BLOCKS = [
    (path, match[2])
    for path in generate.documents()
    for match in generate.BLOCK.finditer(path.read_text(encoding="utf-8"))
]


def test_every_generator_has_a_block_in_the_docs() -> None:
    assert sorted({name for _, name in BLOCKS}) == sorted(generate.GENERATORS)


def test_quoted_numbers_match_the_committed_data() -> None:
    drifted = []
    for path in generate.documents():
        _, changed = generate.fill(path.read_text(encoding="utf-8"))
        drifted += [f"{path.relative_to(ROOT)}: '{name}'" for name in changed]
    assert not drifted, (
        f"generated blocks differ from the committed data: {', '.join(drifted)};"
        " run `python docs/generate.py`"
    )


def test_check_mode_passes_on_the_committed_docs() -> None:
    assert generate.main(["--check"]) == 0


@pytest.mark.parametrize(("path", "name"), BLOCKS, ids=[name for _, name in BLOCKS])
def test_an_altered_number_is_caught(path: Path, name: str) -> None:
    text = path.read_text(encoding="utf-8")
    block = next(m for m in generate.BLOCK.finditer(text) if m[2] == name)
    number = re.search(r"\d+\.\d", block[3]) or re.search(r"\d", block[3])
    assert number is not None, f"block '{name}' quotes no number"
    position = block.start(3) + number.end() - 1  # its last digit, in the whole text
    altered = text[:position] + str((int(text[position]) + 1) % 10) + text[position + 1 :]
    _, changed = generate.fill(altered)
    assert changed == [name]


def test_non_significant_results_never_read_as_no_difference() -> None:
    for name in generate.GENERATORS:
        assert "no difference" not in generate.generated(name).lower(), name


def test_the_paired_table_stars_holm_adjusted_tests_of_its_whole_family() -> None:
    data = generate.comparison()
    tests = [t for verdict in data.verdicts.values() for t in verdict.tests]
    assert len(tests) == data.family == len(data.pairs()) * len(data.settings) * len(data.seeds)
    assert {t.family for t in tests} == {data.family}
    block = generate.generated("paired-tests")
    assert block.count("*") - block.count("**") * 2 == sum(t.p_adjusted < 0.05 for t in tests)
    for verdict in data.verdicts.values():
        said = verdict.kind.startswith("equivalent")
        assert said == all(t.equivalent() and not t.significant() for t in verdict.tests)


def test_a_validation_choice_departs_from_its_default_only_when_it_wins_every_seed() -> None:
    data = generate.validation()
    assert len(data.choices) * len(data.seeds) == sum(len(t) for t in data.tests.values())
    block = generate.generated("validation-choices")
    rows = "".join(line for line in block.splitlines() if line.startswith("|"))
    stars = sum(t.significant() for tests in data.tests.values() for t in tests)
    assert rows.count("*") - rows.count("**") * 2 == stars
    for choice, tests in data.tests.items():
        won = all(t.significant() and t.difference > 0 for t in tests)
        assert data.chosen(choice) == won
        assert (f"**{choice.setting}**" in block) == won
