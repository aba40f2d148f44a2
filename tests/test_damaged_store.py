"""A damaged store never serves a wrong number: real files, real runs of a tiny cell.

- A record edited by hand (a number, NaN, a field of the wrong type) is set aside in one
  sentence by `results`, `compare`, `publish` and `run`, never shown, and the next run
  recomputes it to the numbers of an uninterrupted run.
- Saved batches are resumed only when they are the cell's own and unchanged; edited ones are
  set aside and the cell attacked again. Saved batches left beside a stored cell are removed.
- A full disk (0 bytes or 100 KB free, a real tmpfs in a user namespace; where namespaces are
  not permitted, a file-size limit) while writing a record, saved batches, the site or a
  gallery is one sentence and exit code 1, and every file written before is intact.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.cli import main
from bench.storage.partial import PartialResults
from bench.storage.record import Record
from bench.storage.store import Store
from bench.storage.validation import read_record
from bench.testing.conformance import smoke_flags
from bench.testing.records import saved_batches

TINY = [*smoke_flags("methods", "ulip"), "--set", "dataset.test_per_class=1"]
RUN = ["run", "--method", "ulip", *TINY, "--attack", "pgd", "--set", "attack.steps=1"]
CACHES = ("data", "embeddings", "weights")  # the session's: trained once, shared by every home


@dataclass(frozen=True)
class Reference:
    """The record of an uninterrupted run, as the file it was stored in."""

    home: Path
    path: Path
    text: str

    @property
    def record(self) -> Record:
        return read_record(self.text, str(self.path))


def new_home(where: Path, session_home: Path, like: Path | None = None) -> Path:
    """A home with an empty store and the session's caches (and `like`'s hash cache)."""
    home = where / "home"
    home.mkdir()
    for name in CACHES:
        (session_home / name).mkdir(exist_ok=True)
        (home / name).symlink_to(session_home / name)
    if like is not None and (like / "hashes.json").exists():
        shutil.copy(like / "hashes.json", home / "hashes.json")
    return home


def served(record: Record | None) -> dict[str, Any]:
    """What a record says about its cell, less how long it took."""
    assert record is not None
    metrics = {k: v for k, v in record.metrics.items() if k != "wall_s"}
    return {"cell": record.cell, "status": record.status, "metrics": metrics, **record.samples}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, session_home: Path) -> Reference:
    home = new_home(tmp_path_factory.mktemp("reference"), session_home)
    assert main(["--home", str(home), *RUN]) == 0
    (path,) = (home / "store" / "cells").glob("*/*.json")
    reference = Reference(home, path, path.read_text())
    record = reference.record
    assert record.status == "ok" and record.metrics["n"] == 10
    assert record.metrics["clean_acc"] > 0  # some samples attacked: saved batches exist
    return reference


def stored_copy(reference: Reference, tmp_path: Path, session_home: Path) -> tuple[Path, Path]:
    """A new home whose store holds the reference record; its home and the record's path."""
    home = new_home(tmp_path, session_home, like=reference.home)
    path = home / reference.path.relative_to(reference.home)
    path.parent.mkdir(parents=True)
    path.write_text(reference.text)
    return home, path


def edited(text: str, keys: tuple[str, ...], value: Any) -> str:
    data = json.loads(text)
    target = data
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return json.dumps(data, indent=1)  # NaN as JSON's NaN literal, as an editor would leave it


EDITS = {
    "robust 0.9": (("metrics", "robust_acc"), 0.9, "says robust_acc is 0.9 where its 10 samples"),
    "robust NaN": (("metrics", "robust_acc"), math.nan, "holds NaN, which no record may"),
    "no metrics": (("metrics",), {}, "the metrics of the record lack n, clean_acc"),
    "metrics list": (("metrics",), [], "has metrics [], not a JSON object"),
    "null provenance": (("provenance",), None, "has provenance None, not a JSON object"),
    "int cell_hash": (("cell_hash",), 12345, "has cell_hash 12345, not a string"),
}


@pytest.mark.parametrize("edit", EDITS)
def test_a_damaged_record_is_never_served_and_the_next_run_recomputes_it(
    edit: str,
    reference: Reference,
    tmp_path: Path,
    session_home: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys, value, sentence = EDITS[edit]
    home, path = stored_copy(reference, tmp_path, session_home)
    damaged = edited(reference.text, keys, value)
    site = tmp_path / "site"
    for command, code in ((["results"], 0), (["compare"], 0), (["publish", "--out", str(site)], 2)):
        path.write_text(damaged)
        assert main(["--home", str(home), *command]) == code, command
        out, err = capsys.readouterr()
        (warning,) = [line for line in err.splitlines() if line.startswith("warning:")]
        assert f"The result record {path} " in warning and sentence in warning
        assert warning.endswith("and the next run recomputes its cell.")
        assert "Traceback" not in err and "90.0" not in out and "nan" not in out
        assert not path.exists() and path.with_suffix(".unreadable").read_text() == damaged

    path.write_text(damaged)
    assert main(["--home", str(home), *RUN]) == 0
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sentence in warning and "moved to" in warning
    assert "1 computed, 0 from the store" in capsys.readouterr().out
    assert served(Store(home / "store").get(reference.record.cell_hash)) == served(reference.record)


def test_saved_batches_are_resumed_only_when_they_are_the_cells_own_and_unchanged(
    reference: Reference,
    tmp_path: Path,
    session_home: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    home, path = stored_copy(reference, tmp_path, session_home)
    record = reference.record
    store = Store(home / "store")
    partial = store.partial(record.cell_hash)
    run = ["--home", str(home), "-v", *RUN]
    caplog.set_level(logging.INFO)

    path.unlink()  # killed after its last batch, before its record: resumed, nothing attacked
    partial.save(saved_batches(record))
    assert main(run) == 0
    assert "saved by an interrupted run" in caplog.text and not partial.path.exists()
    assert served(store.get(record.cell_hash)) == served(record)

    attacked = [row for row, right in enumerate(record.samples["robust"]) if right]
    assert attacked, "an edit must be able to change the robust accuracy"
    for tamper, sentence in (
        ("adv_pred", "do not match the hash they were saved with"),
        ("cell", "were saved for another cell"),
    ):
        path.unlink()
        caplog.clear()
        if tamper == "cell":
            PartialResults(partial.path, "0" * 64).save(saved_batches(record))
        else:  # the robust sample's verdict flipped: on trust, robust accuracy would drop to 0
            partial.save(saved_batches(record))
            data = json.loads(partial.path.read_text())
            data["batches"]["columns"]["adv_pred"][str(attacked[0])] += 1
            partial.path.write_text(json.dumps(data))
        assert main(run) == 0
        assert sentence in caplog.text and "saved by an interrupted run" not in caplog.text
        assert partial.path.with_suffix(".unreadable").is_file()
        assert served(store.get(record.cell_hash)) == served(record)


def test_saved_batches_left_beside_a_stored_cell_are_removed_by_the_next_run(
    reference: Reference, tmp_path: Path, session_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A driver killed between storing the record and removing its saved batches."""
    home, path = stored_copy(reference, tmp_path, session_home)
    partial = Store(home / "store").partial(reference.record.cell_hash)
    partial.save(saved_batches(reference.record))
    assert main(["--home", str(home), *RUN]) == 0
    assert "0 computed, 1 from the store" in capsys.readouterr().out
    assert not partial.path.exists() and path.read_text() == reference.text


# Runs in a subprocess, inside a user and mount namespace with a small tmpfs mounted on FULL
# (the store, where the site and the gallery go too), or, where namespaces are not permitted,
# under a file-size limit instead. Prints what each case left on the disk, as JSON.
DISK_FULL_CASES = r"""
import errno, json, os, resource, signal, sys
from pathlib import Path
from bench.cli import main

mode, home, full, record = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
run = json.loads(sys.argv[5])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over the file-size limit: EFBIG, not a kill
hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]


def leave(free):
    # Fill the tmpfs but `free` bytes, or allow no file beyond `free` bytes (8 KB at most).
    if mode == "rlimit":
        resource.setrlimit(resource.RLIMIT_FSIZE, (min(free, 8192), hard))
        return
    stat = os.statvfs(full)
    try:
        with open(full / "filler", "wb") as out:
            out.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - free))
    except OSError as error:
        assert error.errno == errno.ENOSPC


def files():
    found = {}
    for path in sorted(full.rglob("*")):
        name = str(path.relative_to(full))
        if path.is_file() and name != "filler" and not name.startswith("claims"):
            found[name] = path.read_bytes()
    return found


def case(name, argv, free):
    before = files()
    leave(free)
    print(f"=== {name}", file=sys.stderr, flush=True)
    code = main(["--home", str(home), *argv])
    sys.stderr.flush()
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    (full / "filler").unlink(missing_ok=True)
    after = files()
    return {
        "code": code,
        "kept": all(after.get(path) == data for path, data in before.items()),
        "new": sorted(set(after) - set(before)),
    }


stored = full / record.parent.relative_to(record.parents[2])
stored.mkdir(parents=True)
(stored / record.name).write_bytes(record.read_bytes())
gallery = ["datasets", "gallery", "procedural40", "--set", "test_per_class=1"]
assert main(["--home", str(home), *gallery, "--out", str(full / "g.png")]) == 0
results = {
    "record": case("record", [*run, "--rerun"], 4096),  # room for the batches, not the record
    "batches": case("batches", [*run, "--set", "attack.eps=0.02"], 0),
    "site": case("site", ["publish", "--out", str(full / "site")], 100 * 1024),
    "gallery": case("gallery", [*gallery, "--out", str(full / "g.png")], 100 * 1024),
}
print(json.dumps(results))
"""


def full_disk_command(script: Path, mount: Path, *args: str) -> list[str]:
    """The script in a namespace with a 2 MiB tmpfs on `mount`; under a file-size limit where
    user namespaces or mounts are not permitted."""
    probe = ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=2m tmpfs {mount}"]
    namespaces = (
        shutil.which("unshare") is not None
        and subprocess.run(probe, capture_output=True).returncode == 0
    )
    python = [sys.executable, str(script)]
    if not namespaces:
        return [*python, "rlimit", *args]
    inner = 'mount -t tmpfs -o size=2m tmpfs "$0" && exec "$@"'
    return ["unshare", "-rm", "sh", "-c", inner, str(mount), *python, "tmpfs", *args]


def test_a_full_disk_is_one_sentence_and_loses_nothing_written_before(
    reference: Reference, tmp_path: Path, session_home: Path
) -> None:
    home = new_home(tmp_path, session_home, like=reference.home)
    full = home / "store"  # the store; the site and the gallery are written there too
    full.mkdir()
    script = tmp_path / "cases.py"
    script.write_text(DISK_FULL_CASES)
    command = full_disk_command(
        script, full, str(home), str(full), str(reference.path), json.dumps(RUN)
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    said = dict(part.split("\n", 1) for part in done.stderr.split("=== ")[1:])
    for name, result in results.items():
        errors = [line for line in said[name].splitlines() if line.startswith("error:")]
        assert result["code"] == 1 and len(errors) == 1, (name, said[name])
        assert "There is no room to write" in errors[0] and "nothing written before" in errors[0]
        assert "Traceback" not in said[name] and "OSError" not in said[name]
        assert result["kept"], f"{name}: a file written before was changed or lost"
        assert not any(path.endswith(".tmp") for path in result["new"]), result["new"]
    assert [path.split("/")[0] for path in results["record"]["new"]] == ["partial"]  # resumable
    assert results["batches"]["new"] == [] and results["gallery"]["new"] == []
