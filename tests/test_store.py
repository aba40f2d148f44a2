"""The result store: round trips, atomic replacement, and unreadable records."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.contracts.errors import StoreError
from bench.storage.atomic import write_text_atomic
from bench.storage.partial import PartialResults, SavedBatches
from bench.storage.store import Record, Store
from bench.storage.validation import read_record
from bench.storage.verified import read_verified, sidecar, write_verified
from bench.testing.records import stored_record


def _record(acc: float = 0.5) -> Record:
    """A valid record whose clean accuracy is `acc` (of 4 samples)."""
    right = round(acc * 4)
    return stored_record([0, 1, 1, 1], clean_pred=[0] * right + [2] * (4 - right))


HASH = _record().cell_hash


def test_round_trip_keeps_numbers_as_numbers(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = store.put(_record())
    assert json.loads(path.read_text())["metrics"]["clean_acc"] == 0.5
    assert store.get(HASH) == _record()
    assert store.get("cd" * 32) is None
    store.put(_record(acc=0.75))
    assert store.get(HASH).metrics["clean_acc"] == 0.75
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_unreadable_record_is_set_aside_not_lost(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = store.put(_record())
    path.write_text("{not json")
    problems = [item for item in store.scan() if isinstance(item, StoreError)]
    assert len(problems) == 1 and "unreadable" in str(problems[0])
    assert store.get(HASH) is None
    assert path.with_suffix(".unreadable").read_text() == "{not json"


def test_schema_mismatch_is_reported() -> None:
    text = json.dumps({**_record().__dict__, "schema_version": 99})
    with pytest.raises(StoreError, match="schema version 99"):
        read_record(text, "x.json")


def test_nan_metrics_are_refused(tmp_path: Path) -> None:
    record = _record()
    record.metrics["clean_acc"] = float("nan")
    with pytest.raises(StoreError, match="NaN, infinite or not a number"):
        Store(tmp_path).put(record)
    assert not list(tmp_path.rglob("*.json"))


def test_file_hashes_are_cached_by_stamp_and_renewed_when_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    from bench.storage.file_hashes import CACHE_FILE, cached_sha256

    monkeypatch.setenv("BENCH_HOME", str(tmp_path / "home"))
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"first")
    assert cached_sha256(weights) == hashlib.sha256(b"first").hexdigest()
    cache = json.loads((tmp_path / "home" / CACHE_FILE).read_text())
    assert cache[str(weights.resolve())]["size"] == 5
    weights.write_bytes(b"second contents")  # new size and mtime: hashed again
    assert cached_sha256(weights) == hashlib.sha256(b"second contents").hexdigest()


def test_written_files_get_the_umask_permissions_not_private_ones(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "record.json", "{}")
    finally:
        os.umask(previous)
    assert (tmp_path / "record.json").stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temporary left behind


def test_a_record_copied_under_another_cells_name_is_reported_not_shown(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.put(_record())
    copy = store.path("cd" * 32)
    copy.parent.mkdir(parents=True)
    copy.write_text(store.path(HASH).read_text())
    found = list(store.scan())
    assert [r.cell_hash for r in found if isinstance(r, Record)] == [HASH]
    (problem,) = [p for p in found if isinstance(p, StoreError)]
    assert f"holds the record of cell {HASH[:16]}, which belongs in" in str(problem)


def test_a_cache_file_is_served_only_with_the_hash_it_was_written_with(tmp_path: Path) -> None:
    path = tmp_path / "cache.bin"
    digest = write_verified(path, b"weights", "key-a")
    assert read_verified(path, "weights", "key-a") == (b"weights", digest)
    path.write_bytes(b"weightz")  # same size, one byte changed
    assert read_verified(path, "weights", "key-a") is None and not path.exists()
    assert (tmp_path / "cache.bin.corrupt").read_bytes() == b"weightz"
    path.write_bytes(b"weights")  # no sidecar now (an older version wrote it)
    assert read_verified(path, "weights", "key-a") is None


def test_a_cache_pair_copied_over_another_keys_is_not_served(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """A file and its sidecar, both intact, made for key b and copied under key a's name."""
    made_for_b = tmp_path / "b.bin"
    write_verified(made_for_b, b"weights of b", "key-b")
    path = tmp_path / "a.bin"
    for source in (made_for_b, sidecar(made_for_b)):
        shutil.copy(source, tmp_path / source.name.replace("b.bin", "a.bin"))
    assert read_verified(path, "weights", "key-a") is None and not path.exists()
    assert "was made for another key (key-b)" in caplog.text
    assert read_verified(made_for_b, "weights", "key-b") is not None


def test_readers_racing_on_a_damaged_record_do_not_crash(tmp_path: Path) -> None:
    """Four processes read a record damaged to invalid UTF-8 at once: none crashes, every one
    reads it as absent, and its bytes survive, set aside exactly once."""
    store = Store(tmp_path)
    path = store.put(_record())
    damage = b"\xff\xfe{" * 100
    path.write_bytes(damage)
    reader = (
        "import sys; from pathlib import Path; from bench.storage.store import Store\n"
        f"store = Store(Path({str(tmp_path)!r}))\n"
        "for _ in range(200):\n"
        f"    assert store.get({HASH!r}) is None\n"
        "    list(store.scan())\n"
    )
    readers = [subprocess.Popen([sys.executable, "-c", reader]) for _ in range(4)]
    assert [r.wait(timeout=120) for r in readers] == [0, 0, 0, 0]
    assert not path.exists()
    assert path.with_suffix(".unreadable").read_bytes() == damage


def test_saved_batches_round_trip_and_a_damaged_file_is_set_aside(tmp_path: Path) -> None:
    partial = PartialResults(tmp_path / "partial" / "cell.json", HASH)
    assert partial.load() == SavedBatches()
    saved = SavedBatches({"adv_pred": {3: 1, 7: 0}, "l2": {3: 0.25, 7: float("nan")}}, 12, 1.5)
    partial.save(saved)
    loaded = partial.load()
    assert loaded.columns["adv_pred"] == {3: 1, 7: 0} and loaded.rows == {3, 7}
    assert loaded.columns["l2"][3] == 0.25 and math.isnan(loaded.columns["l2"][7])
    assert (loaded.gradient_queries, loaded.wall_s) == (12, 1.5)
    partial.path.write_text('{"columns": 3}')
    assert partial.load() == SavedBatches()  # started over, not crashed
    assert partial.path.with_suffix(".unreadable").exists()
    partial.discard()
    partial.discard()  # gone already: not an error


def test_saved_batches_edited_or_of_another_cell_are_set_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    partial = PartialResults(tmp_path / "cell.json", HASH)
    partial.save(SavedBatches({"adv_pred": {3: 1}}, 12, 1.5))
    partial.path.write_text(partial.path.read_text().replace('"3": 1', '"3": 0'))
    assert partial.load() == SavedBatches()
    assert "do not match the hash they were saved with" in caplog.text
    PartialResults(partial.path, "cd" * 32).save(SavedBatches({"adv_pred": {3: 1}}, 12, 1.5))
    assert partial.load() == SavedBatches() and not partial.path.exists()
    assert "were saved for another cell (cdcdcdcdcdcdcdcd)" in caplog.text


def test_an_ok_record_whose_metrics_do_not_fit_their_schema_is_set_aside(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = store.put(_record())
    data = json.loads(path.read_text())
    data["metrics"]["robust_acc"] = "0.9"
    path.write_text(json.dumps(data))
    problems = [item for item in store.scan() if isinstance(item, StoreError)]
    assert len(problems) == 1 and "robust_acc" in str(problems[0])
    assert store.get(HASH) is None  # recomputed by the next run, never shown
    assert path.with_suffix(".unreadable").is_file()
