"""The paper table (`leaderboard.latex`): its compact columns, flags as letters with a legend,
ASCII escaping, and every `.tex` a published site holds compiled by pdflatex in a minimal
document with booktabs only (Debian's texlive-latex-recommended; `.ci/run` installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.contracts.indicators import warn
from bench.storage.store import Record
from bench.testing.records import stored_record
from leaderboard import latex
from leaderboard.site import publish
from leaderboard.tracks import tracks

AWKWARD = "a_b 50% & #1 $x$ {y} ~^\\ <c|d> caf\u00e9 \u2212 \u2013 \u4e2d"
NOT_CONVERGED = warn("not_converged", half=60.0, end=55.0, steps=10)


def cell(method: str, robust: int, **metrics: Any) -> Record:
    """A pgd cell on 40 samples, all clean-correct, the first `robust` left standing."""
    return stored_record([0] * robust + [1] * (40 - robust), method=method, **metrics)


def header(table: str) -> list[str]:
    """The column headers of the first tabular row after \\toprule."""
    line = table.split("\\toprule\n", 1)[1].split("\n", 1)[0]
    return [
        re.sub(r"\\multicolumn\{2\}\{c\}\{(.*)\}", r"\1", h).strip() for h in line[:-3].split(" & ")
    ]


def test_the_paper_table_has_few_columns_and_its_flags_as_letters_under_it() -> None:
    flagged = cell("dual_denoise", 10, warnings=[NOT_CONVERGED, "a plugin's own worry"])
    (item,) = tracks([cell("ulip", 30), flagged]).items()
    table = latex.to_latex(*item)
    # Teacher, defense, seed and protocol are the same for both entries: said once, not per row.
    assert header(table) == ["Rank", "Method", "Trained on", "Clean (\\%)", "Robust (\\%)"]
    assert "\\toprule" in table and "\\midrule" in table and "\\bottomrule" in table
    row = next(line for line in table.splitlines() if line.startswith("2 & dual\\_denoise"))
    # 10 of 40, Wilson 95%, then the flags: c for not converged, * for an unknown sentence.
    assert row.endswith("25.0 & {\\footnotesize[14.2, 40.2]}\\textsuperscript{c,*} \\\\")
    assert "Protocol: seen classes." in table
    assert "\\textsuperscript{c}\\,not converged; \\textsuperscript{*}\\,another warning" in table


def test_labels_that_differ_between_entries_become_columns_and_every_column_on_request() -> None:
    seeds = [cell("ulip", 30, seed=0), cell("ulip", 20, seed=1)]
    (item,) = tracks(seeds).items()
    assert header(latex.to_latex(*item))[2:4] == ["Trained on", "Seed"]
    assert header(latex.to_latex(*item, every_column=True)) == [
        "Rank",
        "Method",
        "Teacher",
        "Trained on",
        "Defense",
        "Seed",
        "Protocol",
        "N",
        "Clean (\\%)",
        "Robust (\\%)",
        "Strongest attack",
        "Naive \\textminus{} worst (pp)",
    ]


def test_labels_are_escaped_into_ascii() -> None:
    escaped = latex.escape(AWKWARD)
    assert escaped.isascii()
    assert escaped == (
        "a\\_b 50\\% \\& \\#1 \\$x\\$ \\{y\\} \\textasciitilde{}\\textasciicircum{}"
        "\\textbackslash{} \\textless{}c\\textbar{}d\\textgreater{} cafe \\textminus{} -- ?"
    )
    assert latex.number(-1.25, signed=True) == "\\textminus{}1.2"
    assert latex.number(None) == "--"


PDFLATEX = shutil.which("pdflatex")


@pytest.mark.skipif(
    PDFLATEX is None, reason="pdflatex is not installed (apt texlive-latex-recommended)."
)
def test_every_exported_table_compiles_with_pdflatex_and_booktabs(tmp_path: Path) -> None:
    cells = [
        cell(AWKWARD, 30, warnings=[NOT_CONVERGED, "a plugin's own worry"]),
        cell("dual_denoise", 12, runs=["adaptive", "naive"], robust_acc_naive=0.1),  # gap < 0
        cell("ulip", 20, seed=1),
        cell("ulip", 5, eps=0.02),
        cell("pointnext", 35, attack="apgd"),  # not under the track's reference: apart
    ]
    cells[2].provenance["reported"] = {"top1": 84.5, "source": "the release's paper"}
    site = tmp_path / "site"
    publish(cells, site)
    exported = sorted((site / "tables").glob("*.tex"))
    assert len(exported) == 4  # per budget: the entries, and the methods pooled over seeds
    assert len([p for p in exported if p.stem.endswith("-methods")]) == 2
    for track, entries in tracks(cells).items():  # and every column, from Python
        (tmp_path / f"{track.slug}-every-column.tex").write_text(
            latex.to_latex(track, entries, every_column=True)
        )
    every_column = sorted(tmp_path.glob("*-every-column.tex"))
    assert "\\textminus{}" in "".join(p.read_text() for p in every_column)
    assert "\\emph{Not ranked}" in "".join(p.read_text() for p in exported)
    for table in [*exported, *every_column]:
        assert table.read_text().isascii()
        # Twice in one document, as a paper with two tables inputs them.
        floats = (
            f"\\begin{{table}}\\centering\\input{{{table}}}\\caption{{{n}}}\\end{{table}}"
            for n in (1, 2)
        )
        document = tmp_path / f"paper-{table.stem}.tex"
        document.write_text(
            "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
            + "\n".join(floats)
            + "\n\\end{document}\n"
        )
        done = subprocess.run(
            [str(PDFLATEX), "-interaction=nonstopmode", "-halt-on-error", document.name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Unicode character" not in done.stdout
        assert done.returncode == 0, done.stdout[-3000:]
        assert document.with_suffix(".pdf").stat().st_size > 0
