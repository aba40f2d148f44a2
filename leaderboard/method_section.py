"""A track page's method table: one row per method pooled over its training seeds, and the
pooled verdict on every two (`leaderboard.methods`). No torch here."""

from __future__ import annotations

from collections.abc import Sequence

from leaderboard.markup import escape as _e
from leaderboard.methods import MethodRow, pooled_tests

EXPLAINED = (
    "One row per method (weights source, teacher, training corpus, defense), pooled over its"
    " training seeds: the mean accuracy over seeds, its 95% interval from a two-level"
    " bootstrap (seeds drawn with replacement, each drawn seed's accuracy from its Jeffreys"
    " posterior, so the interval counts both seed and sample variation), and the lowest and"
    " highest seed. A method's rank is one plus the number of methods that beat it: the"
    " exact McNemar test on the discordant samples summed over the seeds both have (the"
    " Mantel-Haenszel test for matched pairs stratified by seed), Holm-adjusted over the pairs"
    " below, significant, and no shared seed going the other way. The per-seed entries are"
    " in the table after this one."
)


def points(share: float) -> str:
    """A share in percentage points, one decimal, without a "-0.0"."""
    text = f"{100 * share:.1f}"
    return "0.0" if text == "-0.0" else text


def percent_range(bounds: tuple[float, float]) -> str:
    return f"{100 * bounds[0]:.1f}–{100 * bounds[1]:.1f}"


def method_section(rows: Sequence[MethodRow]) -> str:
    """The method table and the pooled comparisons, as HTML."""
    if not rows:
        return ""
    head = "".join(
        f"<th>{_e(name)}</th>"
        for name in (
            "Rank",
            "Method",
            "Teacher",
            "Trained on",
            "Seeds",
            "Protocol",
            "N per seed",
            "Clean, mean (%)",
            "Clean, seed range",
            "Robust, mean (%)",
            "Robust, seed range",
        )
    )
    body = "".join(_row(row) for row in rows)
    return (
        f"<h2>Methods, pooled over training seeds</h2><p>{_e(EXPLAINED)}</p>"
        f'<table id="methods"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        + _pairs(rows)
    )


def _row(row: MethodRow) -> str:
    cells = [
        row.rank_text,
        row.label,
        row.labels["teacher"],
        row.labels["corpus"],
        ", ".join(str(seed) for seed in row.seeds),
        row.protocol,
        str(row.n),
    ]
    numbers = [
        _mean(row.clean_mean, row.clean_interval),
        f'<td class="num">{percent_range(row.clean_range)}</td>',
        _mean(row.robust_mean, row.robust_interval),
        f'<td class="num">{percent_range(row.robust_range)}</td>',
    ]
    return "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "".join(numbers) + "</tr>"


def _mean(value: float, interval: tuple[float, float]) -> str:
    return (
        f'<td class="num">{100 * value:.1f}'
        f' <span class="ci">[{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]</span></td>'
    )


def _pairs(rows: Sequence[MethodRow]) -> str:
    """Every two methods that share a seed: pooled difference, p raw and Holm, verdict, and
    each shared seed's own difference."""
    tests = pooled_tests(rows)
    lines = []
    for (i, j), test in sorted(tests.items()):
        if i > j:
            continue
        pooled = test.pooled
        seeds = ", ".join(
            f"seed {seed} {100 * own.difference:+.1f}" for seed, own in test.per_seed.items()
        )
        lines.append(
            f"<tr><td>{_e(rows[i].label)}</td><td>{_e(rows[j].label)}</td>"
            f'<td class="num">{100 * pooled.difference:+.1f}'
            f' <span class="ci">[{points(pooled.interval[0])},'
            f" {points(pooled.interval[1])}]</span></td>"
            f'<td class="num">{pooled.n}</td><td class="num">{pooled.p_value:.3g}</td>'
            f'<td class="num">{pooled.p_adjusted:.3g}</td><td>{_e(test.verdict())}</td>'
            f"<td>{_e(seeds)}</td></tr>"
        )
    if not lines:
        return ""
    head = (
        "<tr><th>A</th><th>B</th><th>A − B, pooled (pp)</th><th>Pairs</th><th>p</th>"
        "<th>p (Holm)</th><th>Verdict</th><th>A − B by seed (pp)</th></tr>"
    )
    return (
        "<h3>Methods compared, pooled over seeds</h3><p>Worst-case robust accuracy on the"
        " samples both methods evaluated, seed by seed; the interval inverts the pooled test at"
        " the family's level, as in the per-seed matrix.</p>"
        f'<table class="method-pairs">{head}{"".join(lines)}</table>'
    )
