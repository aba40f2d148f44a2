"""The leaderboard from synthetic records: worst cases, ties, collisions, exports, and the site
in a real headless Chromium (Debian's chromium and chromium-driver): every stored cell's number
is on the page, sorting reorders rows, filters hide them, charts render, the console stays
clean. The browser test keeps a screenshot in `test-artifacts/`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bench.contracts.hashing import sha256_of
from bench.storage.store import Record, Store
from bench.testing.records import stored_record
from leaderboard import exports
from leaderboard.origins import Origin
from leaderboard.site import publish
from leaderboard.tracks import paired_tests, tracks

IDS = [f"s{i}" for i in range(40)]


def record(
    method: str,
    attack: str,
    adv_pred: list[int],
    *,
    eps: float = 0.01,
    version: int = 1,
    finished: str = "2026-12-01T10:00:00+00:00",
    defense: str = "none",
    **metrics: Any,
) -> Record:
    """A finished cell on 40 samples of class 0, all correct clean; adv_pred 0 = robust."""
    n = len(adv_pred)
    cell = {
        "method": {"name": method, "version": version},
        "attack": {"name": attack, "eps": eps},
        "defense": {"name": defense},
        "seed": 0,
    }
    robust = sum(1 for p in adv_pred if p == 0) / n
    return Record(
        cell_hash=sha256_of(cell),
        cell=cell,
        labels={
            "method": method,
            "teacher": "minilm",
            "corpus": "procedural40/train",
            "dataset": "procedural40[unseen]",
            "attack": attack,
            "defense": defense,
        },
        status="ok",
        metrics={
            "n": n,
            "clean_acc": 1.0,
            "clean_acc_ci": [0.9, 1.0],
            "robust_acc": robust,
            "robust_acc_ci": [max(0.0, robust - 0.1), min(1.0, robust + 0.1)],
            "attack_success_rate": 1.0 - robust,
            "threat_model": f"linf {eps:g}",
            "zero_shot": True,
            "warnings": [],
            "runs": ["adaptive"],
            **metrics,
        },
        samples={"id": IDS[:n], "label": [0] * n, "clean_pred": [0] * n, "adv_pred": adv_pred},
        provenance={
            "finished_at": finished,
            "threat_model": {"norm": "linf", "eps": eps},
            "plugins": {"method": {"name": method, "version": version}},
        },
    )


def test_an_entry_is_the_per_sample_worst_case_over_its_attack_cells() -> None:
    # pgd leaves samples 0-19 robust, apgd samples 10-29: only 10-19 survive both.
    pgd = record("ulip", "pgd", [0] * 20 + [1] * 20)
    apgd = record("ulip", "apgd", [1] * 10 + [0] * 20 + [1] * 10)
    ((track, (entry,)),) = tracks([pgd, apgd]).items()
    assert track.title == "procedural40[unseen], linf 0.01"
    assert entry.n == 40 and entry.robust_acc == 0.25  # each cell alone says 0.5
    assert entry.strongest in (pgd, apgd) and entry.protocol == "zero-shot"
    assert len(entry.records) == 2


def test_an_attack_with_its_own_network_joins_its_victims_entry() -> None:
    # AdvPC's autoencoder is part of its cell's identity, not of the victim's.
    pgd = record("ulip", "pgd", [0] * 20 + [1] * 20)
    advpc = record("ulip", "advpc", [1] * 10 + [0] * 20 + [1] * 10)
    advpc.cell["attack_auxiliary"] = {"recipe": {"name": "autoencoder"}, "seed": 0}
    ((_, (entry,)),) = tracks([pgd, advpc]).items()
    assert entry.robust_acc == 0.25 and not entry.superseded and not entry.distinguished_by


def test_neighbours_the_paired_test_does_not_separate_share_a_rank() -> None:
    strong = record("a", "pgd", [0] * 30 + [1] * 10)  # 75%
    close = record("b", "pgd", [0] * 28 + [1] * 12)  # 70%: 2 discordant samples, p = 0.5
    weak = record("c", "pgd", [0] * 5 + [1] * 35)  # 12.5%: far below both
    entries = tracks([weak, close, strong])[next(iter(tracks([strong])))]
    assert [e.victim["method"] for e in entries] == ["a", "b", "c"]
    assert [exports.rank_text(e) for e in entries] == ["=1", "=1", "3"]


def test_ranks_and_the_matrix_use_the_holm_adjusted_tests_of_the_track(tmp_path: Path) -> None:
    # Raw p: a-b 0.031, b-c 0.031, a-c 0.00049. Holm over the 3 pairs: a-c stays significant,
    # a-b and b-c become 0.0625, so b ties a and only c is beaten (by a).
    a = record("a", "pgd", [0] * 30 + [1] * 10)
    b = record("b", "pgd", [0] * 24 + [1] * 16)
    c = record("c", "pgd", [0] * 18 + [1] * 22)
    entries = tracks([a, b, c])[next(iter(tracks([a])))]
    assert [e.victim["method"] for e in entries] == ["a", "b", "c"]
    assert [exports.rank_text(e) for e in entries] == ["=1", "=1", "2"]
    tests = paired_tests(entries)
    assert tests[0, 1].p_value == pytest.approx(2 / 64) and not tests[0, 1].significant()
    assert tests[0, 1].p_adjusted == pytest.approx(4 / 64) == tests[1, 0].p_adjusted
    assert tests[0, 2].significant() and tests[0, 2].family == 3
    assert tests[1, 0].difference == -tests[0, 1].difference
    page = publish([a, b, c], tmp_path)[1].read_text()
    assert "The family is the 3 distinct pairs of this matrix" in page
    assert "p=0.0312, p (Holm)=0.0625, n.s." in page and "no difference</" not in page


def test_entries_whose_labels_coincide_are_both_shown_and_the_older_superseded() -> None:
    old = record("ulip", "pgd", [0] * 40, version=1, finished="2026-11-01T00:00:00+00:00")
    new = record("ulip", "pgd", [1] * 40, version=2, finished="2026-12-01T00:00:00+00:00")
    (entries,) = tracks([old, new]).values()
    assert len(entries) == 2
    current, superseded = entries
    assert current.records == [new] and not current.superseded
    assert superseded.records == [old] and superseded.superseded
    assert current.distinguished_by == "method.version=2"
    assert superseded.distinguished_by == "method.version=1"
    assert exports.rank_text(current) == "1" and exports.rank_text(superseded) == "superseded"


def test_an_entry_whose_cells_do_not_record_a_protocol_is_never_called_zero_shot(
    tmp_path: Path,
) -> None:
    unrecorded = record("ulip", "pgd", [0] * 20 + [1] * 20)
    del unrecorded.metrics["zero_shot"]  # stored before cells recorded their protocol
    mixed = record("ulip", "apgd", [0] * 40, zero_shot=False)
    ((_, (entry,)),) = tracks([unrecorded]).items()
    assert entry.protocol == "seen classes"
    ((_, (entry,)),) = tracks([record("ulip", "pgd", [0] * 40), mixed]).items()
    assert entry.protocol == "seen classes"
    publish([unrecorded], tmp_path)  # the protocol is text on the page and in its filter


def test_parquet_holds_one_row_per_cell_and_one_per_sample(tmp_path: Path) -> None:
    cells = [record("a", "pgd", [0] * 40), record("b", "pgd", [1] * 30, eps=0.02)]
    exports.write_parquet(cells, tmp_path)
    frame = pd.read_parquet(tmp_path / "cells.parquet")
    assert sorted(frame["cell_hash"]) == sorted(r.cell_hash for r in cells)
    samples = pd.read_parquet(tmp_path / "samples.parquet")
    assert len(samples) == 70 and set(samples.columns) >= {"cell_hash", "id", "adv_pred"}
    assert samples.groupby("cell_hash").size().to_dict() == {
        cells[0].cell_hash: 40,
        cells[1].cell_hash: 30,
    }


def test_publish_writes_pages_charts_and_tables_with_every_number(tmp_path: Path) -> None:
    cells = [
        record("a", "pgd", [0] * 30 + [1] * 10, eps=0.01, robust_acc_by_step=[1.0, 0.8, 0.75]),
        record("a", "pgd", [0] * 10 + [1] * 30, eps=0.02),
        record("b", "pgd", [0] * 20 + [1] * 20, eps=0.01),
    ]
    failed = Record(
        cell_hash="f" * 64,
        cell={"seed": 0},
        labels={**cells[0].labels, "method": "c"},
        status="failed",
        error="ThreatModelViolation: out of budget",
    )
    pages = publish([*cells, failed], tmp_path)
    index = (tmp_path / "index.html").read_text()
    assert pages[0] == tmp_path / "index.html" and len(pages) == 3  # index + two tracks
    assert "ThreatModelViolation: out of budget" in index
    assert "<svg" in index  # the budget chart, inline
    for page in pages:  # nothing is fetched: no external script, style, image or font
        text = page.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', text) and "<link" not in text
    for path in pages[1:]:
        page = path.read_text()
        assert "<script>" in page and "<svg" in page
    everything = "".join(p.read_text() for p in pages)
    for cell in cells:
        assert f"{100 * cell.metrics['robust_acc']:.1f}" in everything
    for ext in ("md", "tex", "csv"):
        assert len(list((tmp_path / "tables").glob(f"*linf-0-0?.{ext}"))) == 2
    for ext in ("tex", "csv"):  # the method rows of each track
        assert len(list((tmp_path / "tables").glob(f"*-methods.{ext}"))) == 2
    # a trade-off chart per track, one convergence chart (one cell has a curve), one budget chart
    assert len(list((tmp_path / "charts").glob("*.png"))) == 4


def test_bench_publish_from_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    store.put(stored_record([0] * 40, method="a", threat_model="linf 0.01"))
    env = {**os.environ, "BENCH_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", "publish", "--out", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "2 page(s) for 1 cell(s)" in done.stdout
    assert (tmp_path / "site" / "index.html").is_file()
    (tmp_path / "file").write_text("")
    refused = subprocess.run(
        [sys.executable, "-m", "bench.cli", "publish", "--out", str(tmp_path / "file")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert refused.returncode == 2 and "it is a file, not a directory" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver (apt, see .ci/run)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1500,1100"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    cells = [
        record("ulip", "pgd", [0] * 12 + [1] * 28, robust_acc_by_step=[1.0, 0.6, 0.4, 0.3]),
        record("ulip", "apgd", [1] * 4 + [0] * 10 + [1] * 26),
        record("openshape", "pgd", [0] * 30 + [1] * 10),
        record("dual_denoise", "pgd", [0] * 2 + [1] * 38),
        record("dual_denoise", "pgd", [0] * 1 + [1] * 39, eps=0.02),
        record("ulip", "pgd", [1] * 40, eps=0.02, defense="srs"),
    ]
    out = tmp_path_factory.mktemp("site")
    contributed = {cells[2].cell_hash: Origin("lab.tar.gz", unverified="no spot check here")}
    publish(cells, out, contributed)
    return out, cells


def column(driver: object, header: str) -> list[str]:
    """The visible entries' texts in the leaderboard column with this header."""
    return driver.execute_script(  # type: ignore[attr-defined]
        """const table=document.getElementById('leaderboard');
        const col=Array.from(table.tHead.rows[0].cells).findIndex(c=>c.textContent===arguments[0]);
        return Array.from(table.querySelectorAll('tbody.entry')).filter(b=>!b.hidden)
          .map(b=>b.rows[0].cells[col].textContent.trim());""",
        header,
    )


@needs_browser
def test_in_chromium_every_number_sorting_filters_charts_and_a_clean_console(browser, site) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    out, cells = site
    browser.get((out / "index.html").as_uri())
    assert browser.title == "Leaderboard"
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "td a")]
    assert len(links) == 2  # one page per track: linf 0.01 and linf 0.02
    budget = browser.find_element(By.CSS_SELECTOR, "figure svg")
    assert budget.size["width"] > 200 and budget.size["height"] > 100

    shown = ""
    for link in links:
        browser.get(link)
        for button in browser.find_elements(By.CSS_SELECTOR, "tbody.entry button"):
            button.click()  # open every details row
        shown += browser.find_element(By.TAG_NAME, "body").text
        for chart in browser.find_elements(By.CSS_SELECTOR, "figure svg"):
            assert chart.size["width"] > 200  # rendered, not a broken embed
    for cell in cells:  # each cell's own number, visible once its details are open
        assert f"{100 * cell.metrics['robust_acc']:.1f}" in shown, cell.labels
    assert "contributed in lab.tar.gz: unverified (no spot check here)" in shown

    browser.get((out / links[0].rsplit("/", 1)[1]).as_uri())
    methods = browser.find_elements(By.CSS_SELECTOR, "#methods tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[1].text for row in methods] == [
        "openshape",
        "ulip",
        "dual_denoise",
    ]  # the method rows, pooled over seeds (one each here), above the entries
    assert column(browser, "Method") == ["openshape unverified", "ulip", "dual_denoise"]
    # Beside the worst case, each attack's own number: the ranking attack's and the others'.
    assert column(browser, "Each attack alone (%)") == [
        "pgd 75.0",
        "apgd 25.0, pgd 30.0",
        "pgd 5.0",
    ]
    robust = browser.find_element(By.XPATH, "//th[starts-with(., 'Robust acc')]")
    robust.click()  # ascending
    assert column(browser, "Method") == ["dual_denoise", "ulip", "openshape unverified"]
    robust.click()  # descending
    assert column(browser, "Method") == ["openshape unverified", "ulip", "dual_denoise"]

    box = browser.find_element(By.ID, "filter-text")
    box.send_keys("ulip")
    assert column(browser, "Method") == ["ulip"]
    box.clear()
    box.send_keys(" ")
    box.send_keys("\b")
    assert len(column(browser, "Method")) == 3

    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "leaderboard.png"))
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_the_leaderboard_never_imports_torch() -> None:
    """A pure function of the store: it reads records and never loads a model."""
    code = (
        "import sys, leaderboard.site, leaderboard.exports, leaderboard.tables;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
