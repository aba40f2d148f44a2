"""The index page's attacks x defenses section: one table per victim, as the field prints it."""

from __future__ import annotations

from collections.abc import Sequence

from leaderboard.defense_table import DefenseTable, row_label, slug
from leaderboard.markup import escape, flag


def defense_section(tables: Sequence[DefenseTable]) -> str:
    """Each victim's table: a row per attack, a column per defense, with intervals and flags."""
    if not tables:
        return ""
    parts = [
        "<h2>Attacks against defenses</h2><p>The layout of the Bag-of-Tricks and MRPD tables:"
        " for each victim, a row per attack and a column per defense. The first row is clean"
        " accuracy, the others robust accuracy (%), the per-sample worst case over the cell's"
        " attack runs, with its 95% interval; ⚑ and letters mark attack-failure indicators"
        " (glossary below). Each defense is attacked adaptively where its plugin says how"
        " (BPDA, gradients through its network, EOT over its randomness).</p>"
    ]
    for table in tables:
        head = "".join(f"<th>{escape(defense)}</th>" for defense in table.defenses)
        rows = []
        for attack in table.attacks:
            cells = []
            for defense in table.defenses:
                value = table.value(attack, defense)
                if value is None or value.accuracy is None:  # not run (the site shows no failed)
                    cells.append('<td class="num"></td>')
                    continue
                low, high = value.interval
                marked = f" {flag(value.flags, value.warnings)}" if value.flags else ""
                cells.append(
                    f'<td class="num" data-value="{value.accuracy:.6f}">'
                    f"{100 * value.accuracy:.1f}"
                    f' <span class="ci">[{100 * low:.1f}, {100 * high:.1f}]</span>{marked}</td>'
                )
            rows.append(f"<tr><th>{escape(row_label(attack))}</th>{''.join(cells)}</tr>")
        name = slug(table)
        parts.append(
            f'<h3 id="{escape(name)}">{escape(table.title)}</h3><table><thead><tr>'
            f"<th>attack \\ defense</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f'<p><a href="tables/{escape(name)}.csv">CSV</a></p>'
        )
    return "".join(parts)
