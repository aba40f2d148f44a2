"""What each `bench` subcommand does; the parser lives in `bench.cli`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.contracts.errors import ConfigError, UsageError, shown


def run(args: argparse.Namespace) -> int:
    from bench.contracts.runtime import Runtime
    from bench.plan.command_line import single_cell_spec
    from bench.plan.spec import expand, load_spec
    from bench.running.executors import InProcess
    from bench.running.runner import Runner
    from bench.storage.home import subdir
    from bench.storage.store import Store
    from leaderboard.compact import to_compact
    from leaderboard.tables import rows, to_markdown

    local = args.executor == "local"
    _check_resources(args.cpus_per_cell, args.gpus_per_cell)
    runtime = Runtime(_device(args.device), _batch(args.batch_size), rerun=args.rerun)
    executor = InProcess() if local else _ray_executor(args)
    if args.spec:
        if args.method or args.attack:
            raise UsageError("Give either --spec or --method/--attack, not both.")
        defaults = getattr(args, "cell_defaults", {})
        given = [flag for flag, (dest, value) in defaults.items() if getattr(args, dest) != value]
        if given:
            verb = "describes" if len(given) == 1 else "describe"
            raise UsageError(
                f"{', '.join(given)} {verb} a single cell and would be ignored with --spec:"
                " put it in the spec (its lists, or a plugin's params) instead."
            )
        cells = load_spec(args.spec)
    elif args.method and args.attack:
        spec = single_cell_spec(
            args.method,
            args.attack,
            args.dataset,
            args.defense,
            _seed(args.seed),
            args.preset,
            args.settings,
            args.classes,
            args.weights,
            args.checkpoint,
            args.trust_pickle,
            args.training_processes,
        )
        cells = expand(spec, where="the command line")
    else:
        raise UsageError(
            "Give --method and --attack (e.g. --method ulip --attack pgd), or --spec FILE."
        )
    store = Store(subdir("store"))
    if args.dry_run:
        for cell in cells:
            print(f"{cell.hash[:16]}  {_plan(cell, store, runtime):<22} {cell.label()}")
        return 0
    outcomes = Runner(store, runtime, executor).run(cells)
    table = rows(o.record for o in outcomes)
    print(to_markdown(table) if args.wide else to_compact(table))
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
    import dataclasses

    import torch

    from bench.plan.command_line import single_cell_spec
    from bench.plan.spec import expand_trainings
    from bench.running.devices import require_device
    from bench.training import distributed
    from bench.training.weights import obtain_encoder

    require_device(_device(args.device))
    world, device = distributed.join(torch.device(args.device))
    for setting in args.settings:
        if setting.split(".")[0] not in ("method", "text_encoder", "corpus", args.method):
            raise ConfigError(
                "bench train takes --set method.key=value, text_encoder.key=value or"
                f" corpus.key=value, not {shown(setting)}."
            )
    spec = single_cell_spec(
        args.method, "none", "procedural40", "none", _seed(args.seed), None, args.settings
    )
    training = expand_trainings(spec, where="the command line")[0]
    if world is not None:
        training = dataclasses.replace(training, processes=world.size)
    try:
        trained = obtain_encoder(training, device, retrain=args.retrain)
    except BaseException:
        distributed.leave(world, finished=False)
        raise
    distributed.leave(world, finished=True)
    if world is not None and not world.leads:
        return 0
    state = "trained" if trained.trained_now else "loaded from cache"
    where = f" in {world.size} processes" if world is not None else ""
    print(
        f"{training.method.label()} on {training.corpus.label()} (seed {training.seed}):"
        f" {state}{where}:"
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
            cls = entry.cls
            print(
                f"  {entry.name:<{width}}  v{cls.version:<3} {entry.origin:<{origin_width}}"
                f"  {cls.info.description}"
            )
            if cls.info.cite:
                print(f"  {'':<{width}}  {'':<4} {'':<{origin_width}}  ({cls.info.cite})")
        for failure in failures:
            print(f"  {failure.name:<{width}}  FAILED TO LOAD ({failure.origin}): {failure.error}")
    return 0


def show_plugin(args: argparse.Namespace) -> int:
    import dataclasses

    from bench.contracts.auxiliary import UsesAuxiliary
    from bench.contracts.config import config_to_dict
    from bench.contracts.plugins import REGISTRIES, Attack

    kind = args.kind if args.kind in REGISTRIES else f"{args.kind}s"
    if kind not in REGISTRIES:
        raise UsageError(f"Unknown kind '{args.kind}'; choose from {', '.join(REGISTRIES)}.")
    entry = REGISTRIES[kind].get(args.name)
    cls = entry.cls
    print(f"{entry.name} ({kind[:-1]}, v{cls.version}, {entry.origin}): {cls.info.display}")
    print(f"  {cls.info.description}")
    for label, text in (("cite", cls.info.cite), ("url", cls.info.url)):
        if text:
            print(f"  {label}: {text}")
    fields = dataclasses.fields(cls.Config)
    print("parameters:" if fields else "parameters: none")
    defaults = config_to_dict(cls.Config())
    width = max([len(f.name) for f in fields] + [4])
    for field in fields:
        kind_of = field.type if isinstance(field.type, str) else field.type.__name__
        print(f"  {field.name:<{width}}  {kind_of:<18} default {defaults[field.name]!r}")
    attack = cls if issubclass(cls, Attack) else None
    if attack is not None:
        print(f"threat model: {attack(attack.Config()).threat_model().explain()}")
    recipe = cls().auxiliary_model() if issubclass(cls, UsesAuxiliary) else None
    if recipe is not None:
        print(f"trains: its {recipe.label()} network on the victim's corpus, with the cell's seed")
    for name, preset in cls.presets.items():
        changed = {k: v for k, v in config_to_dict(preset).items() if defaults[k] != v}
        shown = ", ".join(f"{k}={v!r}" for k, v in changed.items()) or "the defaults above"
        print(f"preset {name}: {shown}")
        if attack is not None:
            print(f"  threat model: {attack(preset).threat_model().explain()}")
    for release in getattr(cls, "releases", {}).values():
        reported = ", ".join(f"{p.dataset} {p.top1:.1f}" for p in release.published) or "none"
        print(f"release {release.name}: {release.url} ({release.size})")
        print(f"  teacher {release.teacher[0]} {dict(release.teacher[1])}; pre-trained on")
        print(f"  {release.corpus.name}; reported zero-shot top-1: {reported}")
    return 0


def results(args: argparse.Namespace) -> int:
    from leaderboard.compact import to_compact
    from leaderboard.defense_table import all_markdown, defense_tables
    from leaderboard.indicators import cross_cell_warnings
    from leaderboard.tables import rows, to_csv, to_json, to_markdown, to_markdown_wide

    if args.wide and args.layout == "wide":
        raise UsageError("--wide is the long layout with every column; give it or --layout wide.")
    records = _stored_records(args.spec)
    stale = {record.cell_hash for record in records if _weights_rebuilt(record)}
    if stale:
        print(
            f"warning: {len(stale)} cell(s) were computed from trained weights that have since"
            " been rebuilt with other contents (marked stale); `bench run ... --rerun`"
            " recomputes them.",
            file=sys.stderr,
        )
    table = rows(records, stale, cross_cell_warnings(records))
    if args.format == "json":
        print(to_json(records))
    elif args.format == "csv":
        print(to_csv(table), end="")
    elif not records:
        print("The store holds no results yet.")
    elif args.layout == "wide":
        print(to_markdown_wide(table))
    elif args.layout == "defenses":
        tables = defense_tables(table)
        print(all_markdown(tables) if tables else "No victim was evaluated behind two defenses.")
    elif args.wide or args.layout == "long":
        print(to_markdown(table))
    else:
        print(to_compact(table))
    return 0


def publish(args: argparse.Namespace) -> int:
    from bench.storage.outputs import writable_directory
    from leaderboard.entries import SHIPPED, read_entries
    from leaderboard.site import publish as write_site

    writable_directory(args.out, "the site directory (--out)")
    records = _stored_records(args.spec) if args.include is None or _has_home() else []
    origins: dict[str, Any] = {}
    if args.include:
        from bench.sharing.commands import included

        contributed, origins = included(args.include, records)
        records += contributed
    if not records:
        raise UsageError("The store holds no results to publish yet; `bench run` computes some.")
    entries = read_entries(args.entries or SHIPPED)
    pages = write_site(records, args.out, origins, entries)
    print(f"{len(pages)} page(s) for {len(records)} cell(s): open {pages[0]}")
    return 0


def _has_home() -> bool:
    from bench.storage.home import home

    return (home() / "store").is_dir()


def _stored_records(spec: Any) -> list[Any]:
    """The store's records (those of `spec` only, if given); unreadable ones are reported."""
    from bench.plan.spec import load_spec
    from bench.storage.home import existing_home
    from bench.storage.store import Record, Store

    wanted = {cell.hash for cell in load_spec(spec)} if spec else None
    records = []
    for item in Store(existing_home() / "store").scan():
        if not isinstance(item, Record):
            print(f"warning: {item}", file=sys.stderr)
        elif wanted is None or item.cell_hash in wanted:
            records.append(item)
    if wanted is not None and len(records) < len(wanted):
        print(
            f"{len(wanted) - len(records)} of the spec's {len(wanted)} cells are not in the store"
            " yet; `bench run --spec` computes them.",
            file=sys.stderr,
        )
    return records


def _plan(cell: Any, store: Any, runtime: Any) -> str:
    """What `bench run` would do with a cell: serve it, run it, or train first and run it."""
    from bench.storage.miniatures import auxiliary_path, miniature_path

    stored = store.get(cell.hash)
    if stored is not None and stored.status == "ok" and not runtime.rerun:
        return "stored"
    trained = miniature_path(cell.method.name, cell.training.key)
    untrained = [] if cell.weights != "miniature" or trained.is_file() else [cell.method.name]
    for needed in (cell.attack_auxiliary, cell.defense_auxiliary):
        if needed is not None and not auxiliary_path(needed.recipe.name, needed.key).is_file():
            untrained.append(needed.recipe.name)
    return f"will train {', '.join(untrained)}, then run" if untrained else "will run"


def _weights_rebuilt(record: Any) -> bool:
    """Whether the miniature a record was computed from now holds other weights (only read:
    `bench results` works on a home this user may not write)."""
    from bench.storage.home import home
    from bench.storage.verified import recorded

    weights = record.provenance.get("weights") or {}
    if record.status != "ok" or weights.get("kind") != "miniature":
        return False
    path = home() / "weights" / record.cell["method"]["name"] / weights["file"]
    current = recorded(path)
    return current is not None and current[0] != weights.get("sha256")


def compare(args: argparse.Namespace) -> int:
    from leaderboard.compare import (
        across_seeds,
        all_pairs,
        family_note,
        seeds_to_markdown,
        to_markdown,
    )
    from leaderboard.compare import compare as compare_pair

    records = _stored_records(args.spec if not args.cells else None)
    if args.cells:
        if len(args.cells) != 2:
            raise UsageError("bench compare takes two cell hashes (or prefixes), or --spec.")
        first, second = (_by_prefix(records, prefix) for prefix in args.cells)
        try:
            comparisons = [compare_pair(first, second, outcome=args.outcome)]
        except ValueError as error:
            raise UsageError(str(error)) from None
    else:
        comparisons = all_pairs(records, args.outcome)
    if not comparisons:
        print("No two stored cells share a setting (dataset, attack, defense) and seed to compare.")
        return 0
    print(to_markdown(comparisons))
    print(f"\n{family_note(comparisons)}")
    summaries = across_seeds(comparisons)
    if any(len(summary.comparisons) > 1 for summary in summaries):
        print("\nAcross training seeds (* : Holm-adjusted p < 0.05 in that seed's paired test):\n")
        print(seeds_to_markdown(summaries))
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
    from bench.data.gallery import draw_gallery, picture_format
    from bench.plan.spec import resolve
    from bench.storage.outputs import writable_file

    picture_format(args.out)
    writable_file(args.out, "the gallery file (--out)")
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
    """The device name, checked like every flag before anything runs; whether this host has
    it is asked only once something is computed here (`bench.running.devices`)."""
    from bench.contracts.bounds import RUN_DEVICE, check

    check(name, RUN_DEVICE, "--device")
    return name


def _seed(seed: int) -> int:
    """A seed every generator takes (numpy's are 32-bit), checked before anything runs."""
    from bench.contracts.bounds import SEED, check

    check(seed, SEED, "--seed")
    return seed


def _ray_executor(args: argparse.Namespace) -> Any:
    from bench.running.executors import RayExecutor

    runtime_env = None
    if args.ray_runtime_env is not None:
        import yaml

        from bench.storage.small_text import read_small_text

        try:
            text = read_small_text(
                args.ray_runtime_env, 1 << 20, "Ray runtime environment", UsageError
            )
            runtime_env = yaml.safe_load(text)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise UsageError(f"--ray-runtime-env {args.ray_runtime_env}: {error}") from None
        if not isinstance(runtime_env, dict):
            raise UsageError(
                f"--ray-runtime-env {args.ray_runtime_env} must hold a mapping (pip, env_vars,"
                f" working_dir ...), not a {type(runtime_env).__name__}."
            )
    return RayExecutor(
        args.ray_address,
        cpus_per_cell=args.cpus_per_cell,
        gpus_per_cell=args.gpus_per_cell,
        runtime_env=runtime_env,
    )


def _check_resources(cpus: float, gpus: float | None) -> None:
    """Ray's per-cell requests, checked for every executor: a NaN or negative count is a typo
    whether or not this run goes to Ray, and Ray itself would hang or fail deep inside."""
    from bench.contracts.bounds import check, number

    check(cpus, number(0, 4096, low_open=True), "--cpus-per-cell")
    if gpus is not None:
        check(gpus, number(0, 1024), "--gpus-per-cell")


def _batch(size: int) -> int:
    if size < 1:
        raise UsageError(f"--batch-size must be at least 1, not {size}.")
    return size
