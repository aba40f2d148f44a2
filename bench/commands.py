"""What each `bench` subcommand does; the parser lives in `bench.cli`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bench.contracts.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from bench.contracts.runtime import Progress


def run(args: argparse.Namespace) -> int:
    from bench.contracts.runtime import Runtime
    from bench.running.executors import InProcess, RayExecutor
    from bench.running.runner import Runner
    from bench.running.spec import expand, load_spec, single_cell_spec
    from bench.storage.home import subdir
    from bench.storage.store import Store
    from leaderboard.tables import rows, to_markdown

    if args.spec:
        if args.method or args.attack:
            raise UsageError("Give either --spec or --method/--attack, not both.")
        cells = load_spec(args.spec)
    elif args.method and args.attack:
        spec = single_cell_spec(
            args.method,
            args.attack,
            args.dataset,
            args.defense,
            args.seed,
            args.preset,
            args.settings,
            args.classes,
        )
        cells = expand(spec, where="the command line")
    else:
        raise UsageError(
            "Give --method and --attack (e.g. --method ulip --attack pgd), or --spec FILE."
        )
    runtime = Runtime(_device(args.device), _batch(args.batch_size), rerun=args.rerun)
    executor = RayExecutor(args.ray_address) if args.executor == "ray" else InProcess()
    if args.dry_run:
        for cell in cells:
            print(f"{cell.hash[:16]}  {cell.label()}")
        return 0
    store = Store(subdir("store"))
    with _progress() as progress:
        outcomes = Runner(store, runtime, progress, executor).run(cells)
    print(to_markdown(rows(o.record for o in outcomes)))
    reused = sum(o.reused for o in outcomes)
    failed = [o.record for o in outcomes if o.record.status != "ok"]
    print(
        f"\n{len(outcomes)} cell(s): {len(outcomes) - reused} computed, {reused} from the store"
        f" ({store.root})."
    )
    for record in failed:
        print(f"failed: {record.error}", file=sys.stderr)
    return 1 if failed else 0


def train(args: argparse.Namespace) -> int:
    import torch

    from bench.running.spec import expand, single_cell_spec
    from bench.training.weights import obtain_encoder

    for setting in args.settings:
        if setting.split(".")[0] not in ("method", "text_encoder", "corpus", args.method):
            raise ConfigError(
                "bench train takes --set method.key=value, text_encoder.key=value or"
                f" corpus.key=value, not {setting!r}."
            )
    spec = single_cell_spec(
        args.method, "none", "procedural40", "none", args.seed, None, args.settings
    )
    cell = expand(spec, where="the command line")[0]
    with _progress() as progress:
        trained = obtain_encoder(
            cell, torch.device(_device(args.device)), progress, retrain=args.retrain
        )
    state = "trained" if trained.trained_now else "loaded from cache"
    print(
        f"{cell.method.label()} on {cell.corpus.label()} (seed {cell.seed}): {state}:"
        f" {trained.path} (sha256 {trained.sha256[:16]})"
    )
    return 0


def list_plugins(args: argparse.Namespace) -> int:
    from bench.contracts.plugins import REGISTRIES

    if args.kind and args.kind not in REGISTRIES:
        raise UsageError(f"Unknown kind '{args.kind}'; choose from {', '.join(REGISTRIES)}.")
    kinds = [args.kind] if args.kind else list(REGISTRIES)
    for kind in kinds:
        registry = REGISTRIES[kind]
        entries = registry.entries()
        failures = registry.failures()
        print(f"{kind}:")
        width = max([len(e.name) for e in entries] + [len(f.name) for f in failures] + [4])
        origin_width = max([len(e.origin) for e in entries] + [6])
        for entry in entries:
            print(
                f"  {entry.name:<{width}}  v{entry.cls.version:<3} {entry.origin:<{origin_width}}"
                f"  {entry.cls.info.description}"
            )
        for failure in failures:
            print(f"  {failure.name:<{width}}  FAILED TO LOAD ({failure.origin}): {failure.error}")
    return 0


def results(args: argparse.Namespace) -> int:
    from bench.running.spec import load_spec
    from bench.storage.home import home
    from bench.storage.store import Record, Store
    from leaderboard.tables import rows, to_csv, to_json, to_markdown, to_markdown_wide

    wanted = {cell.hash for cell in load_spec(args.spec)} if args.spec else None
    records = []
    for item in Store(home() / "store").scan():
        if not isinstance(item, Record):
            print(f"warning: {item} It is left out of the table.", file=sys.stderr)
        elif wanted is None or item.cell_hash in wanted:
            records.append(item)
    if args.spec and len(records) < len(wanted):
        print(
            f"{len(wanted) - len(records)} of the spec's {len(wanted)} cells are not in the store"
            " yet; `bench run --spec` computes them.",
            file=sys.stderr,
        )
    if args.format == "json":
        print(to_json(records))
    elif args.format == "csv":
        print(to_csv(rows(records)), end="")
    elif not records:
        print("The store holds no results yet.")
    elif args.layout == "wide":
        print(to_markdown_wide(rows(records)))
    else:
        print(to_markdown(rows(records)))
    return 0


def compare(args: argparse.Namespace) -> int:
    from bench.running.spec import load_spec
    from bench.storage.home import home
    from bench.storage.store import Record, Store
    from leaderboard.compare import all_pairs, to_markdown
    from leaderboard.compare import compare as compare_pair

    records = [item for item in Store(home() / "store").scan() if isinstance(item, Record)]
    if args.cells:
        if len(args.cells) != 2:
            raise UsageError("bench compare takes two cell hashes (or prefixes), or --spec.")
        chosen = [_by_prefix(records, prefix) for prefix in args.cells]
        try:
            comparisons = [compare_pair(*chosen, outcome=args.outcome)]
        except ValueError as error:
            raise UsageError(str(error)) from None
    else:
        if args.spec:
            wanted = {cell.hash for cell in load_spec(args.spec)}
            records = [r for r in records if r.cell_hash in wanted]
        comparisons = all_pairs(records, args.outcome)
    if not comparisons:
        print("No two stored cells share a setting (dataset, attack, defense) to compare.")
        return 0
    print(to_markdown(comparisons))
    return 0


def _by_prefix(records: list[Any], prefix: str) -> Any:
    matches = [r for r in records if r.cell_hash.startswith(prefix)]
    if len(matches) != 1:
        found = "no" if not matches else f"{len(matches)}"
        raise UsageError(
            f"{found} stored cells match the hash prefix '{prefix}'; `bench results` lists them."
        )
    if matches[0].status != "ok":
        raise UsageError(f"The cell {prefix} failed; only finished cells can be compared.")
    return matches[0]


def gallery(args: argparse.Namespace) -> int:
    from bench.contracts.config import parse_value
    from bench.datasets.gallery import draw_gallery
    from bench.running.spec import resolve

    params = {}
    for setting in args.settings:
        key, _, raw = setting.partition("=")
        params[key.removeprefix("dataset.")] = parse_value(raw)
    choice = resolve("dataset", {"name": args.name, "params": params}, "the dataset")[0]
    data = choice.instantiate().load(args.split)
    draw_gallery(data, args.out)
    print(f"Wrote {args.out} ({len(data.class_names)} classes of {choice.label()} {args.split}).")
    return 0


def _device(name: str) -> str:
    if name == "cpu":
        return name
    if name.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            return name
        raise UsageError(f"--device {name} asked for CUDA, but torch sees no CUDA device here.")
    raise UsageError(f"--device must be cpu, cuda or cuda:N, not {name!r}.")


def _batch(size: int) -> int:
    if size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {size}.")
    return size


@contextmanager
def _progress() -> Iterator[Any]:
    """A factory of progress callbacks, one rich progress bar per task."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    with Bars(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),  # stdout carries only results
        transient=False,
    ) as bars:

        def factory(description: str) -> Progress:
            task = bars.add_task(description, total=None)
            return lambda done, total: bars.update(task, completed=done, total=total)

        yield factory
