"""The leaderboard's entries as data: one YAML file per published checkpoint (the shipped ones in
`baselines/entries/`, whose README gives the keys), listed on the site's index with their
paper, code, published file and sha256, the accuracies their authors report, and the cells of
the site that ran them. No torch here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import baselines
from bench.contracts.errors import UsageError
from bench.storage.store import Record
from leaderboard.markup import escape as _e

SHIPPED = Path(baselines.__file__).resolve().parent / "entries"
NEEDED = ("name", "method", "hub", "file", "sha256", "corpus", "teacher", "paper", "code")


@dataclass(frozen=True)
class EntryFile:
    """What the site shows of one entry file."""

    name: str
    method: str
    data: dict[str, Any]

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.data['hub']}/blob/main/{self.data['file']}"

    def cells(self, records: Sequence[Record]) -> list[Record]:
        """The site's records that ran this entry's weights."""
        return [r for r in records if ran(r).get("release") == self.name]


def ran(record: Record) -> dict[str, Any]:
    """The released weights a record's cell ran (release name, file sha256, corpus); empty for
    a miniature."""
    weights = record.cell.get("weights")
    return weights if isinstance(weights, dict) else {}


def read_entries(folder: Path) -> list[EntryFile]:
    """Every entry file of `folder`; a UsageError naming the first that is not one."""
    entries = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise UsageError(f"The entry file {path} cannot be read ({error}).") from None
        if not isinstance(data, dict) or any(key not in data for key in NEEDED):
            raise UsageError(f"The entry file {path} needs the keys {', '.join(NEEDED)}.")
        entries.append(EntryFile(str(data["name"]), str(data["method"]), data))
    return entries


def entries_section(entries: Sequence[EntryFile], records: Sequence[Record]) -> str:
    """The index page's table of entries."""
    if not entries:
        return ""
    rows = "".join(_row(entry, records) for entry in entries)
    head = "".join(
        f"<th>{name}</th>"
        for name in (
            "Method and weights",
            "Paper, code",
            "Pre-trained on",
            "Teacher",
            "File, sha256",
            "Reported zero-shot top-1 (%)",
            "Cells here",
        )
    )
    return (
        "<h2>Entries</h2><p>One file per published checkpoint (its keys: the entries folder's"
        " README). A published sha256 is checked before a cell runs the file; every cell records"
        f" the sha256 of the file it ran.</p><table><tr>{head}</tr>{rows}</table>"
    )


def _row(entry: EntryFile, records: Sequence[Record]) -> str:
    data = entry.data
    paper = data["paper"] or {}
    teacher = data["teacher"] or {}
    params = ", ".join(f"{k}={v}" for k, v in (teacher.get("params") or {}).items())
    reported = "; ".join(
        f"{r['dataset']} {r['top1']:g} ({r['source']})" for r in data.get("reported") or []
    )
    cells = entry.cells(records)
    files = sorted({str(ran(r).get("sha256", ""))[:16] for r in cells})
    published = data["sha256"] or "not published"
    return (
        f"<tr><td>{_e(entry.method)} <code>--weights {_e(entry.name)}</code></td>"
        f'<td><a href="{_e(str(paper.get("url", "")))}">{_e(str(paper.get("cite", "")))}</a>,'
        f' <a href="{_e(str(data["code"]))}">code</a></td>'
        f"<td>{_e(str((data['corpus'] or {}).get('name', '')))}</td>"
        f"<td>{_e(str(teacher.get('name', '')))} {_e(params)}</td>"
        f'<td><a href="{_e(entry.url)}">{_e(str(data["file"]))}</a>,'
        f" <code>{_e(str(published)[:16])}</code></td>"
        f"<td>{_e(reported or '–')}</td>"
        f"<td>{len(cells)}{_e(' (ran sha256 ' + ', '.join(files) + ')') if cells else ''}</td></tr>"
    )
