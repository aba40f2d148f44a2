"""Fill the generated blocks of README.md and docs/*.md from committed data, or check them.

A number typed by hand drifts from the data it came from. So every number the docs quote from
a run sits between `<!-- generated: NAME -->` and `<!-- end generated -->` and is written here:
the comparison's, the validation run's and the field run's from the Parquet files of their
published sites (`bench publish --spec comparison`, `--spec validation`, `--spec field`), the
released checkpoints' from the release table, the indicators' from theirs.
The readings are templates too: whether a method beats another, loses to it or is
inconsistent across seeds is decided by the paired tests, never typed in.

    python docs/generate.py           # rewrite the blocks
    python docs/generate.py --check   # exit 1 naming every block that differs
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from comparison_blocks import (
    paired_table,
    per_class_table,
    readme_headline,
    results_readings,
    results_table,
)
from comparison_data import comparison
from field_blocks import field_table
from prose import listing, table
from reference_blocks import reference_table
from validation_blocks import accuracy_table, choices_table, validation

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end generated -->)", re.DOTALL)
REPORTED = ("modelnet40", "objaverse_lvis", "scanobjectnn")  # columns of the releases table


def releases_table() -> str:
    """Every release of every built-in method, from its entry file (`baselines/entries/`)."""
    from bench.contracts.plugins import METHODS

    rows = []
    for entry in METHODS.entries():
        if not entry.origin.startswith("builtin:"):
            continue  # a third-party plugin installed here is not this project's release
        for i, release in enumerate((getattr(entry.cls, "releases", None) or {}).values()):
            weights = f"`--weights {release.name}`" + (" (or `official`)" if i == 0 else "")
            name, params = release.teacher
            teacher = f"`{name}`" + "".join(f" {k}=`{v}`" for k, v in params.items())
            reported = [
                next((p for p in release.published if p.dataset == d), None) for d in REPORTED
            ]
            numbers = " / ".join(f"{p.top1:g}" if p else "–" for p in reported)
            sources = "; ".join(sorted({p.source for p in release.published})) or "–"
            protocol = (
                "open vocabulary"
                if release.corpus.open_vocabulary
                else f"zero-shot on names outside {listing(list(release.corpus.vocabularies))}"
                " (`--classes unseen`)"
            )
            rows.append(
                [
                    f"`--method {entry.name}` {weights}",
                    f"[`{release.hub}` `{release.file}`]({release.url})",
                    release.size,
                    teacher,
                    release.corpus.name,
                    numbers,
                    sources,
                    protocol,
                    f"[paper]({release.paper[1]}), [code]({release.code})",
                ]
            )
    header = ["Method and weights", "Published at (Hugging Face)", "Size", "Teacher"]
    header += ["Pre-trained on", "Reported zero-shot top-1 (%): " + " / ".join(REPORTED)]
    return table([*header, "Reported in", "Protocol here", "Paper, code"], rows)


def indicators_table() -> str:
    """Every attack-failure indicator, from the one table the records and the site use."""
    from bench.contracts.indicators import INDICATORS

    rows = [
        [
            f"**{i.letter}**",
            i.title,
            "across cells" if i.across_cells else "per cell",
            i.fires_when + ".",
            i.explanation,
        ]
        for i in INDICATORS
    ]
    return table(["Letter", "Indicator", "Computed", "Fires when", "What it means"], rows)


GENERATORS: dict[str, Callable[[], str]] = {
    "readme-headline": lambda: readme_headline(comparison()),
    "results-table": lambda: results_table(comparison()),
    "paired-tests": lambda: paired_table(comparison()),
    "results-readings": lambda: results_readings(comparison()),
    "per-class": lambda: per_class_table(comparison()),
    "validation-accuracy": lambda: accuracy_table(validation()),
    "validation-choices": lambda: choices_table(validation()),
    "field-table": field_table,
    "reference-attacks": reference_table,
    "releases-table": releases_table,
    "indicators": indicators_table,
}


@cache
def generated(name: str) -> str:
    if name not in GENERATORS:
        raise ValueError(f"Unknown generated block '{name}'; known: {', '.join(GENERATORS)}.")
    return GENERATORS[name]()


def fill(text: str) -> tuple[str, list[str]]:
    """The text with every generated block rewritten, and the names of those that changed."""
    changed: list[str] = []

    def rewrite(match: re.Match[str]) -> str:
        body = generated(match[2])
        if body != match[3]:
            changed.append(match[2])
        return match[1] + body + match[4]

    return BLOCK.sub(rewrite, text), changed


def documents(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 on drift")
    check = parser.parse_args(argv).check
    drifted = False
    for path in documents():
        text, changed = fill(path.read_text(encoding="utf-8"))
        for name in changed:
            drifted = True
            state = "differs from its data" if check else "rewritten"
            print(f"{path.relative_to(ROOT)}: generated block '{name}' {state}")
        if changed and not check:
            path.write_text(text, encoding="utf-8")
    if check and drifted:
        print("Run `python docs/generate.py` to rewrite the blocks from the data.")
    return 1 if check and drifted else 0


if __name__ == "__main__":
    raise SystemExit(main())
