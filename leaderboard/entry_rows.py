"""A track page's per-seed entry rows: the row a leaderboard entry shows, and its details row
with each cell's own number, provenance and origin. No torch here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.contracts.indicators import indicator_letters
from leaderboard import exports
from leaderboard.attack_config import describe
from leaderboard.markup import accuracy_cell as _accuracy
from leaderboard.markup import escape as _e
from leaderboard.markup import flag as _flag
from leaderboard.markup import number_cell as _num
from leaderboard.origins import Origin, badge
from leaderboard.tracks import Entry


def entry_body(entry: Entry, width: int, origins: Mapping[str, Origin]) -> str:
    """The entry's row and its hidden details row, as one `tbody` the page's script sorts,
    filters and opens."""
    victim = entry.victim
    flags = len(entry.warnings)
    flag = _flag(indicator_letters(entry.warnings) or str(flags), entry.warnings)
    naive = entry.naive_acc
    gap = None if naive is None else 100 * (naive - entry.robust_acc)
    method = _e(victim["method"])
    if entry.distinguished_by:
        method += f' <span class="ci">({_e(entry.distinguished_by)})</span>'
    contributed = badge(origins.get(r.cell_hash) for r in entry.records)
    if contributed:
        method += f' <span class="origin">{_e(contributed)}</span>'
    cells = [
        _num(exports.rank_text(entry), entry.rank if entry.ranked else ""),
        f"<td>{method}</td>",
        f"<td>{_e(victim['teacher'])}</td>",
        f"<td>{_e(victim['corpus'])}</td>",
        f"<td>{_e(victim['defense'])}</td>",
        _num(str(victim["seed"]), victim["seed"]),
        f"<td>{_e(entry.protocol)}</td>",
        _num(str(entry.n), entry.n),
        _accuracy(entry.clean_acc, entry.clean_ci),
        reported_cell(entry.reported),
        _accuracy(entry.robust_acc, entry.robust_ci),
        f"<td>{_e(entry.strongest_attack)}</td>",
        f"<td>{_e(_each_attack(entry))}</td>",
        _num("–" if gap is None else f"{gap:+.1f}", "" if gap is None else gap),
        _num(flag if flags else "", flags),
        '<td><button type="button" onclick="toggle(this)">details</button></td>',
    ]
    kind = "entry superseded" if entry.superseded else "entry"
    return (
        f'<tbody class="{kind}" data-protocol="{_e(entry.protocol)}"'
        f' data-superseded="{str(entry.superseded).lower()}">'
        f"<tr>{''.join(cells)}</tr>"
        f'<tr class="details" hidden><td colspan="{width}">{_details(entry, origins)}</td></tr>'
        "</tbody>"
    )


def _each_attack(entry: Entry) -> str:
    """Each attack cell's own robust accuracy, by attack name (the label where two cells
    share a name): the ranking attack's number beside the others of the track."""
    names = [r.cell.get("attack", {}).get("name", r.labels["attack"]) for r in entry.records]
    shown = [
        (name if names.count(name) == 1 else record.labels["attack"], record)
        for name, record in zip(names, entry.records, strict=True)
    ]
    return ", ".join(
        f"{name} {100 * record.measured.robust_acc:.1f}"
        for name, record in sorted(shown, key=lambda pair: pair[0])
    )


def reported_cell(reported: dict[str, Any] | None) -> str:
    """The authors' number, its source (and how their protocol differs) on hover."""
    if not reported:
        return _num("–", "")
    source = reported["source"] + (f"; {reported['note']}" if reported.get("note") else "")
    return (
        f'<td class="num" data-value="{reported["top1"]}" title="{_e(source)}">'
        f"{reported['top1']:.1f}<sup>†</sup></td>"
    )


def _details(entry: Entry, origins: Mapping[str, Origin]) -> str:
    """Each cell of the entry with its own numbers and provenance, and its flags."""
    rows = []
    for record in sorted(entry.records, key=lambda r: r.labels["attack"]):
        p = record.provenance
        plugins = ", ".join(
            f"{kind} {info['name']} v{info['version']}"
            for kind, info in (p.get("plugins") or {}).items()
        )
        weights = p.get("weights") or {}
        commit = (p.get("git_commit") or "unknown")[:12] + (
            " (dirty)" if p.get("git_dirty") else ""
        )
        measured = record.measured
        rows.append(
            "<tr>"
            f"<td>{_e(describe(record.cell.get('attack') or {}))}</td>"
            + _accuracy(measured.robust_acc, measured.robust_acc_ci)
            + f"<td>{_e(plugins)}</td>"
            f"<td><code>{_e(commit)}</code></td>"
            f"<td><code>{_e(str(weights.get('sha256', ''))[:16])}</code></td>"
            f"<td><code>{_e(str(p.get('dataset_fingerprint', ''))[:16])}</code></td>"
            f"<td>{_e(str(p.get('finished_at', '')))}</td>"
            f"<td><code>{_e(record.cell_hash[:16])}</code></td>"
            f"<td>{_e(origin.text() if (origin := origins.get(record.cell_hash)) else 'here')}</td>"
            "</tr>"
        )
    head = (
        "<tr><th>Attack</th><th>Robust acc (%)</th><th>Plugins</th><th>Commit</th>"
        "<th>Weights sha256</th><th>Data fingerprint</th><th>Finished</th><th>Cell</th>"
        "<th>Computed</th></tr>"
    )
    flags = "".join(f"<li>{_e(w)}</li>" for w in entry.warnings)
    return f"<table>{head}{''.join(rows)}</table>" + (f"<ul>{flags}</ul>" if flags else "")
