"""The index page's sections for the threats only zero-shot models have: the cross-encoder
transfer matrices (table, CSV link and heat map) and the open-vocabulary target cells."""

from __future__ import annotations

from collections.abc import Sequence

from leaderboard.charts import Chart
from leaderboard.markup import escape, figure
from leaderboard.open_targets import OpenTargetResult
from leaderboard.transfer import TransferMatrix


def transfer_section(matrices: Sequence[TransferMatrix], charts: Sequence[Chart]) -> str:
    """The transfer matrices: each as a table (mean over seeds, with their count) and a heat map."""
    if not matrices:
        return ""
    parts = [
        "<h2>Transfer between encoders</h2><p>Robust accuracy (%) of each evaluated method"
        " (row) on clouds crafted on each source method (column), averaged over the training"
        " seeds; the diagonal is the white-box attack. The encoders share their teacher's text"
        " space, so a low number off the diagonal is a black-box attack that needs no access"
        " to the evaluated model.</p>"
    ]
    for matrix, chart in zip(matrices, charts, strict=True):
        head = "".join(f"<th>{escape(source)}</th>" for source in matrix.sources)
        rows = []
        for target in matrix.targets:
            cells = []
            for source in matrix.sources:
                value = matrix.mean(target, source)
                seeds = len(matrix.accuracy.get((target, source), ()))
                cells.append(
                    '<td class="num"></td>'
                    if value is None
                    else f'<td class="num" data-value="{value:.6f}">{100 * value:.1f}'
                    f' <span class="ci">({seeds} seed{"" if seeds == 1 else "s"})</span></td>'
                )
            rows.append(f"<tr><th>{escape(target)}</th>{''.join(cells)}</tr>")
        parts.append(
            f'<h3 id="{escape(matrix.slug)}">{escape(matrix.title)}</h3><table><thead><tr>'
            f"<th>target \\ source</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f'<p><a href="tables/{escape(matrix.slug)}.csv">CSV</a></p>'
            f'<div class="charts">{figure(chart)}</div>'
        )
    return "".join(parts)


def open_target_section(results: Sequence[OpenTargetResult]) -> str:
    """The open-vocabulary target cells: how often each victim was made to see the text."""
    if not results:
        return ""
    rows = []
    for result in results:
        record, (low, high) = result.record, result.interval
        measured, labels = record.measured, record.labels
        seed = str(record.cell.get("seed"))
        rows.append(
            f"<tr><td>{escape(labels['method'])} (seed {escape(seed)})</td>"
            f"<td>{escape(labels['dataset'])}</td><td>{escape(result.target)}</td>"
            f"<td>{escape(measured.threat_model)}</td><td>{escape(labels.get('defense', ''))}</td>"
            f'<td class="num">{100 * measured.clean_acc:.1f}</td>'
            f'<td class="num" data-value="{result.rate:.6f}">{100 * result.rate:.1f}'
            f' <span class="ci">[{100 * low:.1f}, {100 * high:.1f}]</span></td>'
            f'<td class="num">{result.reached}/{result.attacked}</td></tr>'
        )
    return (
        "<h2>Open-vocabulary targets</h2><p>A zero-shot classifier's class set is open, so an"
        " attacker can aim at a name nobody evaluated. Each row's victim classifies the"
        " evaluated names plus the target text (clean accuracy is over those); the number is"
        " the share of clean-correct clouds the targeted attack made it classify as the"
        " target, with its 95% Wilson interval. These victims are not the evaluated"
        " classifiers, so they join no track.</p><table><thead><tr><th>Method</th>"
        "<th>Dataset</th><th>Target text</th><th>Threat model</th><th>Defense</th>"
        "<th>Clean acc (%)</th><th>Target reached (%)</th><th>Clouds</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
