"""The `bench` command: run cells, train miniatures, list plugins, print results, draw datasets.

Only this module prints. User errors are one sentence on stderr with exit code 2 (usage) or 1;
`--debug` shows the traceback instead. Heavy imports happen inside the commands, so
`bench --help` and `bench list` start fast.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import __version__
from bench.contracts.errors import BenchError
from bench.progress import progress_reporter

log = logging.getLogger("bench")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous_home = os.environ.get("BENCH_HOME")
    if args.home:  # for this call only: an in-process caller's next call keeps its own home
        os.environ["BENCH_HOME"] = str(Path(args.home).expanduser().resolve())
    try:
        return _dispatch(args)
    finally:
        if previous_home is None:
            os.environ.pop("BENCH_HOME", None)
        else:
            os.environ["BENCH_HOME"] = previous_home


def _dispatch(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    try:
        with progress_reporter():
            return int(args.command(args) or 0)
    except BenchError as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:  # the reader went away (`bench results | head`): end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush cannot fail
        return 141  # 128 + SIGPIPE, what a tool killed by the signal would return
    except KeyboardInterrupt as interrupt:  # a run's `Interrupted` says what it stored and saved
        stored = str(interrupt) or "finished cells are stored"
        print(f"interrupted: {stored}; run the same command to resume.", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    from bench import commands
    from bench.sharing import commands as sharing

    parser = argparse.ArgumentParser(
        prog="bench",
        description="Zero-shot adversarial robustness benchmark for 3D point-cloud recognition.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--home", help="home directory for the store and caches (env BENCH_HOME)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.set_defaults(command=lambda args: parser.print_help())
    sub = parser.add_subparsers(title="commands")

    run = sub.add_parser("run", help="evaluate (method x dataset x attack) cells and store them")
    run.add_argument("--method", help="method name, e.g. ulip")
    run.add_argument("--attack", help="attack name, e.g. pgd or none (clean)")
    run.add_argument("--dataset", default="procedural40")
    run.add_argument(
        "--classes",
        help="the evaluated classes: unseen (not in training: zero-shot; the default for"
        " miniatures), seen, all (the default for released weights), modelnet10,"
        " modelnet40_minus_10, validation (5 of the 30 seen classes, held out to choose"
        " recipes) or modelnet40_minus_15 (the 25 left to train on)",
    )
    _add_weights(run)
    run.add_argument("--defense", default="none")
    run.add_argument("--preset", help="a named attack preset, e.g. standard")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--spec", type=Path, help="a YAML run spec (or a shipped spec's name, e.g. comparison)"
    )
    _add_runtime(run)
    run.add_argument("--batch-size", type=int, default=32, help="clouds per attack batch")
    run.add_argument("--rerun", action="store_true", help="recompute cells already stored")
    run.add_argument(
        "--executor", choices=("local", "ray"), default="local", help="where cells run"
    )
    run.add_argument("--ray-address", help="join this Ray cluster (default: start a local one)")
    run.add_argument(
        "--cpus-per-cell",
        type=float,
        default=1.0,
        help="CPUs each Ray cell asks for; Ray gives its worker as many torch threads",
    )
    run.add_argument(
        "--gpus-per-cell",
        type=float,
        help="GPUs each Ray cell asks for (default: 1 with --device cuda, else 0)",
    )
    run.add_argument(
        "--ray-runtime-env",
        type=Path,
        help="a YAML file with the Ray runtime_env of the workers (pip, env_vars, working_dir)",
    )
    run.add_argument("--dry-run", action="store_true", help="print the resolved cells only")
    run.add_argument(
        "--wide",
        action="store_true",
        help="the results table with every column (bench results --wide)",
    )
    run.set_defaults(command=commands.run, cell_defaults=_defaults(run, CELL_FLAGS))

    train = sub.add_parser("train", help="train (or load from cache) a method's miniature weights")
    train.add_argument("--method", required=True)
    train.add_argument("--seed", type=int, default=0, help="the training seed")
    _add_runtime(train)
    train.add_argument("--retrain", action="store_true", help="ignore cached weights")
    train.set_defaults(command=commands.train)

    listing = sub.add_parser("list", help="list registered plugins")
    listing.add_argument(
        "kind", nargs="?", help="methods, attacks, datasets, defenses or text_encoders"
    )
    listing.set_defaults(command=commands.list_plugins)

    showing = sub.add_parser(
        "show", help="one plugin's parameters (types, defaults), presets, version and citation"
    )
    showing.add_argument("kind", help="method, attack, dataset, defense or text_encoder")
    showing.add_argument("name")
    showing.set_defaults(command=commands.show_plugin)

    results = sub.add_parser("results", help="print the stored results as a table")
    results.add_argument("--format", choices=("markdown", "json", "csv"), default="markdown")
    results.add_argument("--spec", type=Path, help="only the cells of this spec (file or name)")
    results.add_argument(
        "--layout",
        choices=("compact", "long", "wide", "defenses"),
        default="compact",
        help="compact: one row per cell in 100 columns, values every row shares said once above;"
        " long: one row per cell, every column; wide: one row per method and dataset, attacks"
        " as columns; defenses: one table per victim, attacks as rows and defenses as columns"
        " (the field's layout)",
    )
    results.add_argument(
        "--wide",
        action="store_true",
        help="every column (the same as --layout long): over 250 characters a line",
    )
    results.set_defaults(command=commands.results)

    publish = sub.add_parser(
        "publish",
        help="write the leaderboard site (HTML, charts, LaTeX/Markdown/CSV tables, Parquet)",
    )
    publish.add_argument("--out", type=Path, required=True, help="the site's directory")
    publish.add_argument("--spec", type=Path, help="only the cells of this spec (file or name)")
    publish.add_argument(
        "--include",
        type=Path,
        nargs="+",
        metavar="BUNDLE",
        help="also the results of these bundles (`bench export`), each checked first",
    )
    publish.add_argument(
        "--entries",
        type=Path,
        help="the folder of entry files the index lists (default: the shipped releases)",
    )
    publish.set_defaults(command=commands.publish)

    export = sub.add_parser(
        "export", help="pack a spec's stored results into a bundle for another machine's site"
    )
    export.add_argument("--spec", type=Path, required=True, help="the spec (file or name)")
    export.add_argument("--out", type=Path, required=True, help="the bundle (.tar.gz) to write")
    export.set_defaults(command=sharing.export)

    verify = sub.add_parser(
        "verify", help="check a bundle and recompute some of its samples here (spot check)"
    )
    verify.add_argument("bundle", type=Path, help="the bundle (.tar.gz)")
    verify.add_argument("--sample", type=int, default=20, help="samples per cell (default 20)")
    verify.add_argument("--seed", type=int, help="the draw's seed (default: a fresh one)")
    verify.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    verify.add_argument("--batch-size", type=int, default=32, help="clouds per batch")
    verify.set_defaults(command=sharing.verify)

    comparing = sub.add_parser(
        "compare",
        help="paired tests between methods on the same samples (exact McNemar, Holm-adjusted)",
    )
    comparing.add_argument("cells", nargs="*", help="two cell hashes (or unique prefixes)")
    comparing.add_argument("--spec", type=Path, help="compare every pair within this spec")
    comparing.add_argument(
        "--outcome",
        choices=("robust", "clean"),
        default="robust",
        help="robust: worst case over the attack runs (default); clean: clean accuracy",
    )
    comparing.set_defaults(command=commands.compare)

    datasets = sub.add_parser("datasets", help="dataset tools")
    datasets_sub = datasets.add_subparsers(title="dataset commands", required=True)
    gallery = datasets_sub.add_parser(
        "gallery", help="draw one example per class to a PNG, PDF or SVG"
    )
    gallery.add_argument("name")
    gallery.add_argument(
        "--out", type=Path, required=True, help="the picture: a .png, .pdf or .svg file"
    )
    gallery.add_argument("--split", default="test")
    gallery.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    gallery.set_defaults(command=commands.gallery)
    return parser


# Flags that describe one cell: a spec gives its own, so `run --spec` refuses them.
CELL_FLAGS = (
    "--dataset",
    "--classes",
    "--weights",
    "--checkpoint",
    "--training-processes",
    "--trust-pickle",
    "--defense",
    "--preset",
    "--seed",
    "--set",
)


def _defaults(parser: argparse.ArgumentParser, flags: Sequence[str]) -> dict[str, Any]:
    """Each flag's destination and default, so a command can tell which ones were given."""
    actions = {flag: action for action in parser._actions for flag in action.option_strings}
    return {flag: (actions[flag].dest, actions[flag].default) for flag in flags}


def _add_weights(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights",
        default="miniature",
        help="miniature (trained here, the default), official (the method's first published"
        " checkpoint) or a release name (bench show method NAME lists them)",
    )
    parser.add_argument(
        "--checkpoint", default="", help="the release's file (else $BENCH_CHECKPOINTS, HF cache)"
    )
    parser.add_argument(
        "--training-processes",
        type=int,
        default=1,
        help="evaluate the miniature trained in this many torchrun processes (bench train)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="admit the named globals of a checkpoint that pickles them (trusted files only)",
    )


def _add_runtime(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="PLUGIN.KEY=VALUE",
        help="override a config value, e.g. --set attack.eps=0.02 (repeatable)",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")


if __name__ == "__main__":
    sys.exit(main())
