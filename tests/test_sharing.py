"""Contributed results: a spec's run exported as a bundle, checked and spot-checked on another
home, published beside that home's own results; a doctored bundle refused with the sentence
that says what is wrong."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from test_cli import bench

from bench.contracts.errors import UsageError
from bench.contracts.plugins import ThreatModel
from bench.evaluation.summary import summarize
from bench.sharing.bundle import export_bundle, read_bundle
from bench.sharing.commands import checked_bundle
from bench.storage.record import Record

SPEC = (
    "methods: [{name: ulip, params: {num_points: 256, num_groups: 16, group_size: 16,"
    " depth: 1, epochs: 1}}]\n"
    "datasets: [{name: procedural40, params: {test_per_class: 2}}]\n"
    "attacks: [none, {name: pgd, params: {steps: 2, eps: 0.02}}]\n"
)
CACHES = ("weights", "embeddings", "data", "hashes.json")


@pytest.fixture(scope="module")
def lab(session_home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A lab's run exported as a bundle, and a publisher's home: its own store empty, with the
    caches a machine that has the weights would have (so a spot check trains nothing)."""
    where = tmp_path_factory.mktemp("lab")
    spec = where / "lab.yaml"
    spec.write_text(SPEC)
    ran = bench("run", "--spec", str(spec))
    assert ran.returncode == 0, ran.stderr
    bundle = where / "lab.tar.gz"
    exported = bench("export", "--spec", str(spec), "--out", str(bundle))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"{bundle}: 2 cell(s) of 2."
    publisher = where / "publisher"
    for name in CACHES:
        source = session_home / name
        if source.is_dir():
            shutil.copytree(source, publisher / name)
        elif source.is_file():
            shutil.copy2(source, publisher / name)
    return {"spec": spec, "bundle": bundle, "publisher": publisher, "where": where}


def doctored(lab: dict[str, Path], name: str, change: Callable[[Record], None]) -> Path:
    """The lab's bundle with one record changed and the manifest's sha256 made to match, as a
    forger would."""
    bundle = read_bundle(lab["bundle"])
    records = bundle.records
    change(next(r for r in records if r.labels["attack"].startswith("pgd")))
    out = lab["where"] / f"{name}.tar.gz"
    manifest = bundle.manifest
    exported = {k: manifest[k] for k in ("exported_at", "code", "environment")}
    return export_bundle(records, manifest["spec"], out, exported)


def resummarized(record: Record) -> None:
    """Metrics recomputed from the (changed) samples, so that the record is consistent."""
    threat = ThreatModel("linf", 0.02)
    record.metrics.update(summarize(record.samples, threat, steps=2))


def refused(bundle: Path) -> str:
    """Why publishing the bundle is refused (checked in this process, as `bench publish
    --include` checks it; `test_publishing_a_doctored_bundle_writes_nothing` runs the command)."""
    with pytest.raises(UsageError) as refusal:
        checked_bundle(bundle)
    assert str(refusal.value).startswith(f"The bundle {bundle} is refused:")
    return str(refusal.value)


def test_an_honest_bundle_is_spot_checked_and_published_as_contributed(
    lab: dict[str, Path],
) -> None:
    site = lab["where"] / "site"
    unchecked = bench(
        "publish", "--include", str(lab["bundle"]), "--out", str(site), home=lab["publisher"]
    )
    assert unchecked.returncode == 0, unchecked.stderr
    page = next(site.glob("procedural40*.html")).read_text()
    assert '<span class="origin">unverified</span>' in page
    assert "contributed in lab.tar.gz: unverified (not spot-checked here" in page

    verified = bench(
        "verify", str(lab["bundle"]), "--sample", "20", "--seed", "3", home=lab["publisher"]
    )
    assert verified.returncode == 0, verified.stderr
    assert "drawn with seed 3" in verified.stdout
    assert verified.stdout.count("20 of 20 samples agree.") == 2
    again = bench(
        "publish", "--include", str(lab["bundle"]), "--out", str(site), home=lab["publisher"]
    )
    assert again.returncode == 0, again.stderr
    page = next(site.glob("procedural40*.html")).read_text()
    assert '<span class="origin">contributed, spot-checked</span>' in page
    assert "spot-checked here, 20 of 20 samples agree" in page


def test_publishing_a_doctored_bundle_writes_nothing(lab: dict[str, Path]) -> None:
    def edit(record: Record) -> None:
        record.metrics["robust_acc"] += 0.05

    bundle = doctored(lab, "number", edit)
    site = lab["where"] / "refused-site"
    shown = bench("publish", "--include", str(bundle), "--out", str(site), home=lab["publisher"])
    assert shown.returncode == 2 and not (site / "index.html").exists(), shown.stdout
    assert f"The bundle {bundle} is refused:" in shown.stderr
    assert "robust_acc" in shown.stderr


def test_a_budget_statistic_outside_the_threat_model_is_refused(lab: dict[str, Path]) -> None:
    def edit(record: Record) -> None:
        attacked = next(i for i, v in enumerate(record.samples["linf"]) if v > 0)
        record.samples["linf"][attacked] = 0.05
        resummarized(record)

    stderr = refused(doctored(lab, "budget", edit))
    assert (
        "reports 1 sample(s) with linf up to 0.05, outside its threat model (linf 0.02)." in stderr
    )


def test_a_sample_left_out_is_refused(lab: dict[str, Path]) -> None:
    def edit(record: Record) -> None:
        for column in record.samples.values():
            del column[-1]
        resummarized(record)

    stderr = refused(doctored(lab, "count", edit))
    assert "evaluated 19 samples; its data, whose fingerprint it names, has 20." in stderr


def test_a_record_of_another_plugin_version_is_refused(lab: dict[str, Path]) -> None:
    def edit(record: Record) -> None:
        record.provenance["plugins"]["attack"]["version"] = 99

    stderr = refused(doctored(lab, "version", edit))
    assert "was computed with attack pgd v99; this code has v" in stderr


def test_a_record_changed_after_the_export_is_refused(lab: dict[str, Path]) -> None:
    import io
    import tarfile

    bad = lab["where"] / "bytes.tar.gz"
    with tarfile.open(lab["bundle"]) as source, tarfile.open(bad, "w:gz") as target:
        for member in source:
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("records/"):
                data = data.replace(b'"robust_acc": ', b'"robust_acc":  ', 1)
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    assert "does not match the sha256 the manifest gives for it" in refused(bad)


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (
            ["publish", "--include", "{notes}", "--out", "{site}"],
            "is not a readable .tar.gz bundle",
        ),
        (["verify", "{missing}"], "is not a readable .tar.gz bundle"),
        (["verify", "{bundle}", "--sample", "0"], "--sample must be at least 1, not 0."),
        (
            ["export", "--spec", "{spec}", "--out", "{site}"],
            "it is a directory, not a regular file.",
        ),
    ],
    ids=["not-a-bundle", "missing", "no-samples", "out-is-a-directory"],
)
def test_a_bad_bundle_argument_is_one_sentence(
    lab: dict[str, Path], command: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.cli import main

    notes = lab["where"] / "notes.tar.gz"
    notes.write_text("not a bundle")
    (lab["where"] / "site-dir").mkdir(exist_ok=True)
    paths = {
        "notes": notes,
        "site": lab["where"] / "site-dir",
        "missing": lab["where"] / "missing.tar.gz",
        "bundle": lab["bundle"],
        "spec": lab["spec"],
    }
    assert main([part.format(**paths) for part in command]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and said in line
