"""Output paths checked before work starts (`bench.storage.outputs`): made when missing, one
WriteError sentence when something is in the way, for directories and files alike."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.contracts.errors import WriteError
from bench.data.gallery import picture_format
from bench.storage.home import subdir
from bench.storage.outputs import writable_directory, writable_file


def test_missing_directories_are_made_with_their_parents(tmp_path: Path) -> None:
    assert writable_directory(tmp_path / "a" / "b", "the site").is_dir()
    assert not writable_file(tmp_path / "c" / "d" / "g.png", "the gallery").exists()
    assert (tmp_path / "c" / "d").is_dir()


def test_a_new_home_is_made_on_first_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "new" / "home"))
    assert subdir("store") == tmp_path / "new" / "home" / "store" and subdir("store").is_dir()


def test_an_existing_file_may_be_replaced(tmp_path: Path) -> None:
    (tmp_path / "g.png").write_bytes(b"old")
    assert writable_file(tmp_path / "g.png", "the gallery") == tmp_path / "g.png"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.write_text(""), "it is a file, not a directory"),
        (lambda p: os.mkfifo(p), "it is a named pipe, not a directory"),
    ],
)
def test_a_directory_blocked_by_a_file_is_one_sentence(
    tmp_path: Path, make: object, expected: str
) -> None:
    path = tmp_path / "site"
    make(path)  # type: ignore[operator]
    with pytest.raises(WriteError, match=f"Cannot use {path} as the site: {expected}.$"):
        writable_directory(path, "the site")
    with pytest.raises(WriteError, match=f"{path} is .*, not a directory; use another.$"):
        writable_directory(path / "deeper", "the site", "use another")


def test_a_file_where_a_directory_or_pipe_is_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(WriteError, match="it is a directory, not a regular file.$"):
        writable_file(tmp_path, "the gallery")
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(WriteError, match="it is a named pipe, not a regular file.$"):
        writable_file(tmp_path / "pipe.png", "the gallery")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere: no permission to deny")
def test_an_unwritable_directory_is_one_sentence(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(WriteError, match="it is not writable by this user.$"):
        writable_directory(locked, "the site")
    with pytest.raises(WriteError, match="cannot be created"):
        writable_directory(locked / "new", "the site")


@pytest.mark.parametrize(("name", "chosen"), [("g.png", "png"), ("G.PDF", "pdf"), ("g.svg", "svg")])
def test_the_gallery_format_follows_the_suffix(name: str, chosen: str) -> None:
    assert picture_format(Path(name)) == chosen
