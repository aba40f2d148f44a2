"""The leaderboard's entries as data: one file per published checkpoint, read by the method
classes, the docs and the site."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_leaderboard import record

from bench.contracts.errors import UsageError
from leaderboard.entries import SHIPPED, read_entries
from leaderboard.site import publish


def test_every_shipped_release_is_an_entry_file_with_its_paper_and_code() -> None:
    from bench.contracts.plugins import METHODS

    entries = {entry.name: entry for entry in read_entries(SHIPPED)}
    releases = {
        name
        for plugin in METHODS.entries()
        for name in (getattr(plugin.cls, "releases", None) or {})
    }
    assert set(entries) == releases and len(entries) == 13
    for entry in entries.values():
        assert entry.data["paper"]["url"].startswith("https://arxiv.org/abs/")
        assert entry.data["code"].startswith("https://github.com/")
    assert sum(entry.data["official"] for entry in entries.values()) == 4  # one per method


def test_an_entry_file_without_its_keys_is_one_sentence(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "entries")
    broken = tmp_path / "entries" / "uni3d-b.yaml"
    broken.write_text(broken.read_text().replace("code: ", "repository: "))
    with pytest.raises(UsageError, match=r"uni3d-b.yaml needs the keys .*code"):
        read_entries(tmp_path / "entries")


def test_the_index_lists_the_entries_and_the_cells_that_ran_each(tmp_path: Path) -> None:
    released = record("uni3d", "pgd", [0] * 30 + [1] * 10)
    released.cell["weights"] = {"release": "uni3d-b", "sha256": "ab" * 32, "corpus": {}}
    publish(
        [released, record("ulip", "pgd", [0] * 20 + [1] * 20)],
        tmp_path,
        None,
        read_entries(SHIPPED),
    )
    index = (tmp_path / "index.html").read_text()
    assert "<h2>Entries</h2>" in index and index.count("<code>--weights ") == 13
    row = index[index.index("--weights uni3d-b</code>") :].split("</tr>")[0]
    assert '<a href="https://arxiv.org/abs/2310.06773">Zhou et al., Uni3D' in row
    assert "<td>1 (ran sha256 abababababababab)</td>" in row
    other = index[index.index("--weights uni3d-l</code>") :].split("</tr>")[0]
    assert other.endswith("<td>0</td>")
