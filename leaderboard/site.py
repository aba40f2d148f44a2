"""The static leaderboard site (`bench publish --out DIR`), a pure function of store records.

One page per track (dataset and threat model): its methods pooled over their training seeds
(`leaderboard.methods`), then its entries ranked by worst-case robust accuracy, with
clean and robust accuracy and their 95% intervals, the gap between the naive and the worst
case, attack-failure flags with their explanation, the zero-shot or seen-classes label, the
paired McNemar matrix, charts, and each entry's provenance in a details row; an index page
links the tracks, draws robust accuracy against budget, and lists failed cells. Pages work
opened from disk: styles, scripts and SVG charts are inside each page, nothing is fetched.
Beside the pages: PNG charts, per-track tables (Markdown, LaTeX, CSV) and the store as Parquet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.contracts.indicators import INDICATORS
from bench.storage.atomic import write_bytes_atomic, write_text_atomic
from bench.storage.store import Record
from leaderboard import exports, latex
from leaderboard.charts import (
    BudgetPoint,
    Chart,
    budget_chart,
    convergence_chart,
    tradeoff_chart,
    transfer_chart,
)
from leaderboard.defense_section import defense_section
from leaderboard.defense_table import defense_tables, slug
from leaderboard.defense_table import to_csv as defense_csv
from leaderboard.entries import EntryFile, entries_section
from leaderboard.entry_rows import entry_body, reported_cell
from leaderboard.indicators import cross_cell_warnings
from leaderboard.markup import accuracy_cell as _accuracy
from leaderboard.markup import escape as _e
from leaderboard.markup import figure as _figure
from leaderboard.matrix import mcnemar_matrix
from leaderboard.method_section import method_section
from leaderboard.methods import method_rows
from leaderboard.open_targets import open_target_results
from leaderboard.origins import Origin
from leaderboard.tables import protocol_label
from leaderboard.tables import rows as cell_rows
from leaderboard.tracks import NO_CHANGE, Entry, Track, tracks
from leaderboard.transfer import to_csv, transfer_matrices
from leaderboard.zero_shot_sections import open_target_section, transfer_section

SCRIPT = """
function rowsOf(table){return Array.from(table.querySelectorAll('tbody.entry'));}
function sortBy(th){
  const table=th.closest('table'); const col=th.cellIndex;
  const up=th.dataset.order!=='asc'; th.dataset.order=up?'asc':'desc';
  const key=b=>{const c=b.rows[0].cells[col]; const v=c.dataset.value;
    return th.dataset.type==='num'?(v===''?-Infinity:parseFloat(v)):c.textContent.trim();};
  const bodies=rowsOf(table).sort((a,b)=>{const x=key(a),y=key(b);
    return (x<y?-1:x>y?1:0)*(up?1:-1);});
  bodies.forEach(b=>table.appendChild(b));
}
function applyFilters(){
  const text=document.getElementById('filter-text').value.toLowerCase();
  const protocol=document.getElementById('filter-protocol').value;
  const old=document.getElementById('filter-superseded').checked;
  document.querySelectorAll('tbody.entry').forEach(b=>{
    const show=b.rows[0].textContent.toLowerCase().includes(text)
      &&(protocol===''||b.dataset.protocol===protocol)
      &&(old||b.dataset.superseded!=='true');
    b.hidden=!show;});
}
function toggle(button){const d=button.closest('tbody').rows[1]; d.hidden=!d.hidden;
  button.textContent=d.hidden?'details':'hide';}
document.addEventListener('DOMContentLoaded',()=>{
  document.querySelectorAll('th[data-type]').forEach(th=>th.addEventListener('click',()=>sortBy(th)));
  ['filter-text','filter-protocol','filter-superseded'].forEach(id=>{
    const el=document.getElementById(id); if(el){el.addEventListener('input',applyFilters);
    el.addEventListener('change',applyFilters);}});
  if(document.getElementById('filter-text'))applyFilters();
});
"""
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:110em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border-bottom:1px solid #ddd;padding:0.3em 0.6em;text-align:left;vertical-align:top}
th[data-type]{cursor:pointer;user-select:none} th[data-type]:hover{background:#eef}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody.superseded{color:#999} .flag{color:#b00;font-weight:bold} .ci{color:#666;font-size:0.85em}
.origin{color:#a50;font-size:0.85em}
.details td{background:#fafafa;font-size:0.85em} .charts svg{max-width:46em;height:auto}
.filters{margin:1em 0} .filters>*{margin-right:1em} code{font-size:0.9em}
"""


def publish(
    records: Sequence[Record],
    out: Path,
    origins: Mapping[str, Origin] | None = None,
    entry_files: Sequence[EntryFile] = (),
) -> list[Path]:
    """Write the site for these records under `out`; returns the HTML pages written.
    `origins`: the records contributed in bundles, by cell hash (the others were computed
    here); their entries say so, and whether a spot check vouches for them. `entry_files`: the
    leaderboard's entry files (`leaderboard.entries`), listed on the index."""
    origins = origins or {}
    finished = [r for r in records if r.status == "ok"]
    warnings = cross_cell_warnings(finished)
    ranked = tracks(finished, warnings)
    pages = []
    for track, entries in ranked.items():
        charts = [tradeoff_chart(f"{track.slug}-tradeoff", f"{track.title}: trade-off", entries)]
        curves = convergence_chart(f"{track.slug}-steps", f"{track.title}: by step", entries)
        charts += [curves] if curves is not None else []
        _write_charts(out, charts)
        _write_tables(out / "tables", track, entries)
        page = out / f"{track.slug}.html"
        write_text_atomic(page, _track_page(track, entries, charts, origins))
        pages.append(page)
    budget_charts = _budget_charts(ranked)
    _write_charts(out, budget_charts)
    matrices = transfer_matrices(finished)
    for matrix in matrices:
        write_text_atomic(out / "tables" / f"{matrix.slug}.csv", to_csv(matrix))
    transfer_charts = [transfer_chart(matrix) for matrix in matrices]
    _write_charts(out, transfer_charts)
    exports.write_parquet(list(records), out / "data")
    index = out / "index.html"
    clean = [r for r in finished if r.measured.threat_model == NO_CHANGE]
    failed = [r for r in records if r.status != "ok"]
    tables = defense_tables(cell_rows(finished, extra_warnings=warnings))
    for table in tables:
        write_text_atomic(out / "tables" / f"{slug(table)}.csv", defense_csv(table))
    sections = defense_section(tables)
    sections += transfer_section(matrices, transfer_charts)
    sections += open_target_section(open_target_results(finished))
    sections += entries_section(entry_files, finished)
    write_text_atomic(index, _index_page(ranked, budget_charts, clean, failed, sections))
    return [index, *pages]


def _track_page(
    track: Track, entries: Sequence[Entry], charts: Sequence[Chart], origins: Mapping[str, Origin]
) -> str:
    headers = [
        ("Rank", "num"),
        ("Method", "text"),
        ("Teacher", "text"),
        ("Trained on", "text"),
        ("Defense", "text"),
        ("Seed", "num"),
        ("Protocol", "text"),
        ("N", "num"),
        ("Clean acc (%)", "num"),
        ("Reported clean (%)", "num"),
        ("Robust acc, worst case (%)", "num"),
        ("Strongest attack", "text"),
        ("Each attack alone (%)", "text"),
        ("Naive − worst (pp)", "num"),
        ("Flags", "num"),
        ("", ""),
    ]
    head = "".join(
        f'<th data-type="{kind}">{_e(name)}</th>' if kind else "<th></th>" for name, kind in headers
    )
    bodies = "".join(entry_body(e, len(headers), origins) for e in entries if not e.unranked)
    apart = "".join(entry_body(e, len(headers), origins) for e in entries if e.unranked)
    reference = track.reference
    if apart and reference is not None:
        heading = f"<h2>{_e(reference.heading)}</h2>"
        apart = f"{heading}<table><thead><tr>{head}</tr></thead>{apart}</table>"
    protocols = sorted({e.protocol for e in entries})
    options = "".join(f'<option value="{_e(p)}">{_e(p)}</option>' for p in protocols)
    tables = "".join(
        f'<a href="tables/{track.slug}.{ext}">{ext}</a> ' for ext in ("md", "tex", "csv")
    )
    tables += "; methods: " + " ".join(
        f'<a href="tables/{track.slug}-methods.{ext}">{ext}</a>' for ext in ("tex", "csv")
    )
    body = f"""
<p><a href="index.html">All tracks</a></p>
<h1>{_e(track.title)}</h1>
<p>Ranked by worst-case robust accuracy: a sample counts as robust only if it survived every
attack run of every cell of this track. An entry's rank is one plus the number of entries that
beat it by the exact McNemar test on their shared samples (Holm-adjusted p &lt; 0.05 over the
pairs of the matrix below); a rank shared with
another entry is marked "=". Intervals are 95% Wilson.
"Naive − worst" is how much lower the worst case is than the best non-adaptive run (one draw
per step, or crafted without the defense). {_e(reference.note if reference else "")}
Tables: {tables}</p>
{method_section(method_rows(entries))}
<h2>Per training seed</h2>
<div class="filters">
<input id="filter-text" placeholder="filter rows" aria-label="filter rows">
<select id="filter-protocol" aria-label="protocol">
<option value="">any protocol</option>{options}</select>
<label><input type="checkbox" id="filter-superseded"> show superseded</label>
</div>
<table id="leaderboard"><thead><tr>{head}</tr></thead>{bodies}</table>
{apart}
<h2>Paired comparisons</h2>
{mcnemar_matrix(entries)}
<h2>Charts</h2>
<div class="charts">{"".join(_figure(chart) for chart in charts)}</div>
{_glossary()}
"""
    return _page(track.title, body)


def _budget_charts(ranked: dict[Track, list[Entry]]) -> list[Chart]:
    """Robust accuracy against eps, per dataset and norm that has at least two budgets."""
    groups: dict[tuple[str, str], dict[str, list[BudgetPoint]]] = {}
    for track, entries in ranked.items():
        for entry in entries:
            threat = entry.records[0].provenance.get("threat_model") or {}
            if entry.superseded or not threat.get("eps"):
                continue
            lines = groups.setdefault((track.dataset, threat["norm"]), {})
            lines.setdefault(entry.label, []).append(BudgetPoint(threat["eps"], entry))
    charts = []
    for (dataset, norm), lines in sorted(groups.items()):
        if len({p.budget for points in lines.values() for p in points}) < 2:
            continue
        slug = Track(dataset, norm).slug
        charts.append(budget_chart(f"{slug}-budget", f"{dataset}: {norm} budget", lines))
    return charts


def _index_page(
    ranked: dict[Track, list[Entry]],
    charts: Sequence[Chart],
    clean: Sequence[Record],
    failed: Sequence[Record],
    sections: str = "",
) -> str:
    rows = []
    for track, entries in ranked.items():
        leaders = [row for row in method_rows(entries) if row.rank == 1]
        best = ", ".join(
            f"{row.label} {100 * row.robust_mean:.1f}% [{100 * row.robust_interval[0]:.1f},"
            f" {100 * row.robust_interval[1]:.1f}] ({_seeds(row.seeds)})"
            for row in leaders
        )
        rows.append(
            f'<tr><td><a href="{track.slug}.html">{_e(track.title)}</a></td>'
            f'<td class="num">{len(entries)}</td><td>{_e(best)}</td></tr>'
        )
    clean_rows = "".join(
        "<tr>"
        + "".join(f"<td>{_e(r.labels[k])}</td>" for k in ("method", "corpus", "dataset", "defense"))
        + f'<td class="num">{r.measured.n}</td>'
        + _accuracy(r.measured.clean_acc, r.measured.clean_acc_ci)
        + reported_cell(r.provenance.get("reported"))
        + f"<td>{_e(protocol_label(r.measured) or 'seen classes')}</td></tr>"
        for r in sorted(clean, key=lambda r: tuple(r.labels.values()))
    )
    failures = "".join(
        f"<li><code>{_e(r.cell_hash[:16])}</code> {_e(' × '.join(r.labels.values()))}:"
        f" {_e(r.error or '')}</li>"
        for r in failed
    )
    body = f"""
<h1>Zero-shot adversarial robustness of 3D point-cloud recognition</h1>
<p>One track per evaluation dataset and threat model. Rank 1 of each: the methods no other
method beats by the paired test pooled over their training seeds (mean over seeds, 95%
interval over seeds and samples):</p>
<table><thead><tr><th>Track</th><th>Entries</th><th>Rank 1 (worst-case robust acc)</th></tr>
</thead><tbody>{"".join(rows)}</tbody></table>
<p>Data: <a href="data/cells.parquet">cells.parquet</a> (one row per cell),
<a href="data/samples.parquet">samples.parquet</a> (one row per cell and sample).</p>
{f"<h2>Clean accuracy</h2><table>{CLEAN_HEAD}{clean_rows}</table>" if clean_rows else ""}
{"<h2>Robust accuracy against budget</h2>" if charts else ""}
<div class="charts">{"".join(_figure(chart) for chart in charts)}</div>
{sections}
{f"<h2>Failed cells</h2><ul>{failures}</ul>" if failures else ""}
{_glossary()}
"""
    return _page("Leaderboard", body)


def _seeds(seeds: Sequence[Any]) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds"


CLEAN_HEAD = (
    "<tr><th>Method</th><th>Trained on</th><th>Dataset</th><th>Defense</th><th>N</th>"
    "<th>Clean acc (%)</th><th>Reported (%)</th><th>Protocol</th></tr>"
)


def _glossary() -> str:
    items = "".join(
        f"<dt>{_e(i.letter)}: {_e(i.title)}</dt><dd>{_e(i.explanation)}</dd>" for i in INDICATORS
    )
    return (
        "<h2>Flags</h2><p>⚑ marks attack-failure indicators (Pintor et al., NeurIPS 2022;"
        " Carlini et al., 2019) by their letters; each entry's details give their sentences."
        f"</p><dl>{items}</dl>"
        "<h2>Protocols</h2><dl><dt>zero-shot</dt><dd>no evaluated class name (or synonym) is"
        " among the training classes.</dd><dt>seen classes</dt><dd>some are: a closed-set"
        " result, whatever the head looks like.</dd><dt>open vocabulary</dt><dd>released"
        " weights pre-trained with free captions, in which any class name may occur: not"
        " verifiably zero-shot.</dd></dl><p>† Reported: the clean top-1 accuracy the release's"
        " authors report for this data (hover for the source and how their protocol"
        " differs), beside the harness's measurement.</p>"
    )


def _write_charts(out: Path, charts: Sequence[Chart]) -> None:
    for chart in charts:
        write_bytes_atomic(out / "charts" / f"{chart.name}.png", chart.png)


def _write_tables(directory: Path, track: Track, entries: Sequence[Entry]) -> None:
    write_text_atomic(directory / f"{track.slug}.md", exports.to_markdown(track, entries))
    write_text_atomic(directory / f"{track.slug}.tex", latex.to_latex(track, entries))
    write_text_atomic(directory / f"{track.slug}.csv", exports.to_csv(entries))
    write_text_atomic(directory / f"{track.slug}-methods.csv", exports.methods_to_csv(entries))
    write_text_atomic(
        directory / f"{track.slug}-methods.tex", latex.methods_to_latex(track, entries)
    )


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{STYLE}</style><script>{SCRIPT}</script></head>"
        f"<body>{body}</body></html>\n"
    )
