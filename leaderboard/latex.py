"""A track as a paper table: a booktabs tabular for `\\input`, plain ASCII so pdflatex takes it.

By default the columns a paper needs: rank, method (with its defense), training corpus, the
victim labels that differ between entries (teacher, seed, protocol), clean and robust accuracy,
each a right-aligned number beside its bracketed 95% Wilson interval. Attack-failure flags are
superscript letters on the robust number, explained under the table with the protocol and what
the intervals are, so the table needs no package but booktabs (threeparttable and siunitx are
not in every TeX installation). `every_column=True` gives every column of the CSV export.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.contracts.indicators import INDICATORS, indicator_of
from leaderboard.exports import rank_text
from leaderboard.methods import method_rows
from leaderboard.tracks import Entry, Track

# Characters LaTeX reads as commands, and typographic ones pdflatex does not take from UTF-8
# (it stops at "Unicode character ... not set up for use with LaTeX").
SPELLED = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "\u2212": r"\textminus{}",
    "\u2013": "--",
    "\u2014": "---",
    "\u00b1": r"\textpm{}",
    "\u00d7": r"\texttimes{}",
    "\u2020": r"\dag{}",
    "\u2026": r"\dots{}",
}
ACCURACY = r"r@{\ }l"  # the percentage right-aligned, its interval beside it
BOX = r"\leaderboardtable"  # a save box, allocated by the first table a document inputs
OTHER_WARNING = "*"  # the mark of a warning no indicator says (older or plugin wording)
NOTES = r"Accuracy in \%, 95\% Wilson intervals; robust: worst case per sample over all attacks."
METHOD_NOTES = (
    r"Accuracy in \%: mean over training seeds, 95\% interval over seeds and samples (two-level"
    r" bootstrap); robust: worst case per sample over all attacks; last column: lowest and"
    r" highest seed. Rank: paired test pooled over seeds, Holm-adjusted."
)


def escape(text: str) -> str:
    """ASCII LaTeX for any label: specials escaped, accents dropped, an unknown character "?"."""
    out = []
    for char in text:
        if char in SPELLED:
            out.append(SPELLED[char])
        elif char.isascii():
            out.append(char)
        else:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(escape(base) if base else "?")
    return "".join(out)


def number(value: float | None, *, signed: bool = False) -> str:
    """One decimal, a true minus sign, "--" for no value."""
    if value is None or math.isnan(value):
        return "--"
    text = f"{value:+.1f}" if signed else f"{value:.1f}"
    return text.replace("-", r"\textminus{}", 1)


def accuracy(value: float, interval: tuple[float, float]) -> str:
    """Two table cells (`ACCURACY`): the percentage, then its interval, smaller."""
    low, high = (number(100 * bound) for bound in interval)
    return rf"{number(100 * value)} & {{\footnotesize[{low}, {high}]}}"


def marks(entry: Entry) -> list[str]:
    """The entry's flag letters in the legend's order, `*` last for an unknown warning."""
    found = {i.letter if (i := indicator_of(w)) else OTHER_WARNING for w in entry.warnings}
    known = [i.letter for i in INDICATORS if i.letter in found]
    return known + ([OTHER_WARNING] if OTHER_WARNING in found else [])


@dataclass(frozen=True)
class Column:
    header: str  # plain text
    cell: Callable[[Entry], str]  # LaTeX; an accuracy's is two cells
    align: str = "l"

    @property
    def span(self) -> int:
        return sum(self.align.count(c) for c in "lcr")


def _rank(entry: Entry) -> str:
    """The rank; a dash under the "Not ranked" row, which says why."""
    return "--" if entry.unranked else escape(rank_text(entry))


def robust(entry: Entry) -> str:
    flags = ",".join(marks(entry))
    return accuracy(entry.robust_acc, entry.robust_ci) + (
        rf"\textsuperscript{{{flags}}}" if flags else ""
    )


def columns(entries: Sequence[Entry], every_column: bool) -> list[Column]:
    """The paper's columns, or every one; a victim label is a paper column only if it varies."""

    def varies(value: Callable[[Entry], object]) -> bool:
        return every_column or len({str(value(e)) for e in entries}) > 1

    def label(key: str) -> Column:
        return Column(key.capitalize(), lambda e: escape(str(e.victim[key])))

    def method(e: Entry) -> str:
        if not every_column:
            return escape(e.label)  # with its defense, whose own column is left out
        distinguished = f" ({e.distinguished_by})" if e.distinguished_by else ""
        return escape(e.victim["method"] + distinguished)

    def gap(e: Entry) -> str:
        naive = e.naive_acc
        return number(None if naive is None else 100 * (naive - e.robust_acc), signed=True)

    chosen = [Column("Rank", _rank, "r"), Column("Method", method)]
    if varies(lambda e: e.victim["teacher"]):
        chosen.append(label("teacher"))
    chosen.append(Column("Trained on", lambda e: escape(e.victim["corpus"])))
    if every_column:
        chosen.append(label("defense"))
    if varies(lambda e: e.victim["seed"]):
        chosen.append(Column("Seed", lambda e: escape(str(e.victim["seed"])), "r"))
    if varies(lambda e: e.protocol):
        chosen.append(Column("Protocol", lambda e: escape(e.protocol)))
    if every_column:
        chosen.append(Column("N", lambda e: str(e.n), "r"))
    chosen.append(Column("Clean (%)", lambda e: accuracy(e.clean_acc, e.clean_ci), ACCURACY))
    if every_column and any(e.reported for e in entries):
        top1 = Column("Reported clean (%)", lambda e: number((e.reported or {}).get("top1")), "r")
        chosen.append(top1)
    chosen.append(Column("Robust (%)", robust, ACCURACY))
    if every_column:
        chosen.append(Column("Strongest attack", lambda e: escape(e.strongest_attack)))
        chosen.append(Column("Naive \u2212 worst (pp)", gap, "r"))
    return chosen


def protocol(entries: Sequence[Entry]) -> str | None:
    """The protocol every entry shares, or None when they differ."""
    found = {e.protocol for e in entries}
    return found.pop() if len(found) == 1 else None


def legend(entries: Sequence[Entry]) -> list[str]:
    """The paragraphs under the table: what the numbers are and the shared protocol; then each
    flag used, by its letter."""
    shared = protocol(entries)
    lines = [NOTES + (f" Protocol: {escape(shared)}." if shared else "")]
    used = {m for e in entries for m in marks(e)}
    flags = [(i.letter, escape(i.title)) for i in INDICATORS if i.letter in used]
    if OTHER_WARNING in used:
        flags.append((OTHER_WARNING, "another warning, whose sentence the track's page gives"))
    if flags:
        lines.append(
            "; ".join(rf"\textsuperscript{{{mark}}}\,{title}" for mark, title in flags) + "."
        )
    return lines


def to_latex(track: Track, entries: Sequence[Entry], *, every_column: bool = False) -> str:
    """The entries' tabular and its legend (`_boxed`)."""
    chosen = columns(entries, every_column)
    header = " & ".join(
        escape(c.header) if c.span == 1 else rf"\multicolumn{{{c.span}}}{{c}}{{{escape(c.header)}}}"
        for c in chosen
    )
    rows = [" & ".join(c.cell(e) for c in chosen) + r" \\" for e in entries if not e.unranked]
    apart = [" & ".join(c.cell(e) for c in chosen) + r" \\" for e in entries if e.unranked]
    notes = legend(entries)
    if apart and track.reference is not None:  # listed apart; the legend says what they lack
        width = sum(c.span for c in chosen)
        rows += [r"\midrule", rf"\multicolumn{{{width}}}{{l}}{{\emph{{Not ranked}}}} \\", *apart]
        notes.append(escape(track.reference.heading) + ".")
    comment = f"% {escape(track.title)}: worst-case robust accuracy."
    return _boxed(comment, "".join(c.align for c in chosen), header, rows, notes)


def methods_to_latex(track: Track, entries: Sequence[Entry]) -> str:
    """The track's method rows (`leaderboard.methods`): mean over training seeds with its
    interval over seeds and samples, and the seed range, in the same boxed layout."""
    methods = method_rows(entries)
    header = " & ".join(
        [
            "Rank",
            "Method",
            "Trained on",
            "Seeds",
            r"\multicolumn{2}{c}{Clean (\%)}",
            r"\multicolumn{2}{c}{Robust (\%)}",
            "Robust, seeds",
        ]
    )
    rows = [
        " & ".join(
            [
                escape(row.rank_text),
                escape(row.label),
                escape(row.labels["corpus"]),
                str(len(row.seeds)),
                accuracy(row.clean_mean, row.clean_interval),
                accuracy(row.robust_mean, row.robust_interval),
                "--".join(number(100 * bound) for bound in row.robust_range),
            ]
        )
        + r" \\"
        for row in methods
    ]
    shared = protocol(entries)
    notes = [
        METHOD_NOTES + (f" Protocol: {escape(shared)}." if shared else ""),
    ]
    comment = f"% {escape(track.title)}: methods pooled over training seeds."
    return _boxed(comment, "rlll" + ACCURACY + ACCURACY + "r", header, rows, notes)


def _boxed(
    comment: str, aligns: str, header: str, rows: Sequence[str], notes: Sequence[str]
) -> str:
    """The tabular, then its legend wrapped at the tabular's width: the table is measured in a
    box first, so that the legend never widens a column and the whole fits a float, a
    `\\resizebox` or a tabular cell."""
    return "\n".join(
        [
            f"{comment} Needs \\usepackage{{booktabs}}.",
            rf"\ifdefined{BOX}\else\newsavebox{BOX}\fi",
            rf"\sbox{BOX}{{\begin{{tabular}}{{{aligns}}}",
            r"\toprule",
            header + r" \\",
            r"\midrule",
            *rows,
            r"\bottomrule",
            r"\end{tabular}}%",
            rf"\begin{{tabular}}{{@{{}}p{{\wd{BOX}}}@{{}}}}",
            rf"\usebox{BOX} \\",
            " \\\\\n".join(rf"\footnotesize {line}" for line in notes),
            r"\end{tabular}",
            "",
        ]
    )
