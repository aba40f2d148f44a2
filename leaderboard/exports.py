"""Leaderboard tables for programs and READMEs: Markdown, CSV, and the whole store as Parquet
(one row per cell, one per sample) for pandas users; the paper's LaTeX is `leaderboard.latex`.
No torch here."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bench.storage.atomic import write_bytes_atomic
from bench.storage.store import Record
from leaderboard.methods import MethodRow, method_rows
from leaderboard.tables import rows
from leaderboard.tracks import Entry, Track

COLUMNS = (
    "Rank",
    "Method",
    "Teacher",
    "Trained on",
    "Defense",
    "Seed",
    "Protocol",
    "N",
    "Clean (%)",
    "Reported clean (%)",
    "Robust (%)",
    "Strongest attack",
    "Naive − worst (pp)",
    "Flags",
)


def track_frame(entries: Sequence[Entry]) -> pd.DataFrame:
    """One row per entry, numbers as numbers (percentages; interval bounds in own columns)."""
    data = []
    for entry in entries:
        naive = entry.naive_acc
        data.append(
            {
                "Rank": rank_text(entry),
                "Method": entry.victim["method"]
                + (f" ({entry.distinguished_by})" if entry.distinguished_by else ""),
                "Teacher": entry.victim["teacher"],
                "Trained on": entry.victim["corpus"],
                "Defense": entry.victim["defense"],
                "Seed": entry.victim["seed"],
                "Protocol": entry.protocol,
                "N": entry.n,
                "Clean (%)": 100 * entry.clean_acc,
                "Clean low": 100 * entry.clean_ci[0],
                "Clean high": 100 * entry.clean_ci[1],
                "Reported clean (%)": (entry.reported or {}).get("top1"),
                "Reported source": (entry.reported or {}).get("source"),
                "Robust (%)": 100 * entry.robust_acc,
                "Robust low": 100 * entry.robust_ci[0],
                "Robust high": 100 * entry.robust_ci[1],
                "Strongest attack": entry.strongest_attack,
                "Naive − worst (pp)": None if naive is None else 100 * (naive - entry.robust_acc),
                "Flags": len(entry.warnings),
            }
        )
    return pd.DataFrame(data)


def method_frame(methods: Sequence[MethodRow]) -> pd.DataFrame:
    """One row per method pooled over its seeds (`leaderboard.methods`), numbers as numbers:
    mean, 95% interval and lowest and highest seed, in percent."""
    data = []
    for row in methods:
        found: dict[str, object] = {
            "Rank": row.rank_text,
            "Method": row.label,
            "Teacher": row.labels["teacher"],
            "Trained on": row.labels["corpus"],
            "Seeds": " ".join(str(seed) for seed in row.seeds),
            "Protocol": row.protocol,
            "N per seed": row.n,
        }
        for name, mean, interval, spread in (
            ("Clean", row.clean_mean, row.clean_interval, row.clean_range),
            ("Robust", row.robust_mean, row.robust_interval, row.robust_range),
        ):
            found[f"{name} (%)"] = 100 * mean
            found[f"{name} low"], found[f"{name} high"] = (100 * b for b in interval)
            found[f"{name} lowest seed"], found[f"{name} highest seed"] = (100 * b for b in spread)
        data.append(found)
    return pd.DataFrame(data)


def method_display_frame(methods: Sequence[MethodRow]) -> pd.DataFrame:
    """The method table as printed: "mean [low, high]" and the seed range "lowest–highest"."""
    frame = method_frame(methods)
    shown = ["Rank", "Method", "Teacher", "Trained on", "Seeds", "Protocol", "N per seed"]
    for name in ("Clean", "Robust"):
        frame[f"{name} (%)"] = [
            f"{v:.1f} [{lo:.1f}, {hi:.1f}]"
            for v, lo, hi in zip(
                frame[f"{name} (%)"], frame[f"{name} low"], frame[f"{name} high"], strict=True
            )
        ]
        frame[f"{name}, seed range"] = [
            f"{lo:.1f}–{hi:.1f}"
            for lo, hi in zip(
                frame[f"{name} lowest seed"], frame[f"{name} highest seed"], strict=True
            )
        ]
        shown += [f"{name} (%)", f"{name}, seed range"]
    return frame[shown]


def rank_text(entry: Entry) -> str:
    """ "3", "=3" for a rank shared with a neighbour the paired test does not separate from it,
    "superseded", or "not ranked" (not evaluated under the track's reference attack)."""
    if entry.superseded:
        return "superseded"
    if entry.unranked:
        return "not ranked"
    return f"={entry.rank}" if entry.tied else str(entry.rank)


def display_frame(entries: Sequence[Entry]) -> pd.DataFrame:
    """The table as printed: accuracies with their intervals, "value [low, high]"."""
    frame = track_frame(entries)
    for name in ("Clean", "Robust"):
        frame[f"{name} (%)"] = [
            f"{v:.1f} [{lo:.1f}, {hi:.1f}]"
            for v, lo, hi in zip(
                frame[f"{name} (%)"], frame[f"{name} low"], frame[f"{name} high"], strict=True
            )
        ]
    frame["Naive − worst (pp)"] = [
        "–" if pd.isna(v) else f"{v:+.1f}" for v in frame["Naive − worst (pp)"]
    ]
    reported = frame["Reported clean (%)"]
    frame["Reported clean (%)"] = ["–" if pd.isna(v) else f"{v:.1f}" for v in reported]
    shown = [c for c in COLUMNS if c != "Reported clean (%)" or reported.notna().any()]
    return frame[shown]


def to_markdown(track: Track, entries: Sequence[Entry]) -> str:
    """The ranked (and superseded) entries, then those not evaluated under the track's
    reference attack in a table of their own, under a heading that says what they lack."""
    apart = [e for e in entries if e.unranked]
    text = f"**{track.title}**\n\n"
    if track.reference is not None:
        text += track.reference.note + "\n\n"
    methods = method_rows(entries)
    if methods:
        text += "Methods, pooled over training seeds (mean [95% interval over seeds and"
        text += " samples], lowest–highest seed):\n\n"
        text += _markdown_table(method_display_frame(methods)) + "\nPer training seed:\n\n"
    text += _markdown_table(display_frame([e for e in entries if not e.unranked]))
    if apart and track.reference is not None:
        text += f"\n**{track.reference.heading}**\n\n" + _markdown_table(display_frame(apart))
    return text


def _markdown_table(frame: pd.DataFrame) -> str:
    lines = [
        "| " + " | ".join(frame.columns) + " |",
        "|" + "---|" * len(frame.columns),
        *("| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)),
    ]
    return "\n".join(lines) + "\n"


def to_csv(entries: Sequence[Entry]) -> str:
    return track_frame(entries).to_csv(index=False)


def methods_to_csv(entries: Sequence[Entry]) -> str:
    return method_frame(method_rows(entries)).to_csv(index=False)


def write_parquet(records: Sequence[Record], directory: Path) -> tuple[Path, Path]:
    """`cells.parquet` (one row per cell, as in `bench results`) and `samples.parquet` (one
    row per cell and sample: labels, predictions of every run, attack statistics)."""
    directory.mkdir(parents=True, exist_ok=True)
    cells = pd.DataFrame([{**rows([r])[0], "cell_hash": r.cell_hash} for r in records])
    samples = pd.concat(
        [
            pd.DataFrame({"cell_hash": record.cell_hash, **record.samples})
            for record in records
            if record.samples
        ]
        or [pd.DataFrame({"cell_hash": []})],
        ignore_index=True,
    )
    paths = directory / "cells.parquet", directory / "samples.parquet"
    for frame, path in zip((cells, samples), paths, strict=True):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        write_bytes_atomic(path, buffer.getvalue())  # never half a file, even on a full disk
    return paths
