"""The paired-comparison matrix of a track's page: McNemar's test for every two ranked
entries, Holm-adjusted over the family the ranks were computed from. No torch here."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bench.evaluation.statistics import MARGIN
from leaderboard import exports
from leaderboard.tracks import Entry, paired_tests


def mcnemar_matrix(entries: Sequence[Entry]) -> str:
    """Row minus column, worst-case robust accuracy on shared samples, with McNemar's p raw
    and Holm-adjusted over the distinct pairs the matrix shows."""
    current = [e for e in entries if e.ranked]  # the family the ranks were computed over
    if len(current) < 2:
        return "<p>One entry: nothing to compare.</p>"
    names = [f"#{exports.rank_text(e)} {e.label}" for e in current]
    head = (
        "<tr><th>row − column (pp)</th>" + "".join(f"<th>{escape(n)}</th>" for n in names) + "</tr>"
    )
    tests = paired_tests(current)
    rows = []
    for i, name in enumerate(names):
        cells = []
        for j in range(len(current)):
            test = tests.get((i, j))
            if test is None:
                cells.append("<td>–</td>")
            else:
                verdict = "significant" if test.significant() else "n.s."
                verdict = "equivalent" if verdict == "n.s." and test.equivalent() else verdict
                cells.append(
                    f'<td class="num">{100 * test.difference:+.1f} <span class="ci">'
                    f"p={test.p_value:.3g}, p (Holm)={test.p_adjusted:.3g}, {verdict},"
                    f" n={test.n}</span></td>"
                )
        rows.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    family = len(tests) // 2
    return (
        "<p>Exact McNemar test on the samples both entries evaluated. The family is the"
        f" {family} distinct pair{'s' if family != 1 else ''} of this matrix: p (Holm) is the"
        " Holm-Bonferroni adjusted p-value (family-wise error rate 5%), and a difference is a"
        " finding only when it is below 0.05. Equivalent: not significant, and a paired TOST"
        f" shows the difference within ±{100 * MARGIN:g} points (its 90% Newcombe interval"
        " inside the margin); n.s. is neither a finding nor evidence of no difference.</p>"
        f'<table class="mcnemar">{head}{"".join(rows)}</table>'
    )
