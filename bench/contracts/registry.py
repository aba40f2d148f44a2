"""One generic registry type; built-in and third-party plugins are registered through the same path.

Built-ins register with the `@REGISTRY.register("name")` decorator in their own module, and the
registry imports those modules on first use. Third-party packages declare an entry point in the
group `bench.<kind>s` (for example `bench.attacks`) naming their plugin class; it is registered
with the same validation when first needed. A module or entry point that fails to import is
recorded and reported, never silently dropped; so is a name claimed twice (by a built-in and an
entry point, or by two distributions), which no lookup then resolves: a silent winner would run
another plugin than the one its user installed.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.metadata
import inspect
import os
import pkgutil
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from bench.contracts.errors import PluginLoadError, UnknownPluginError, shown

T = TypeVar("T", bound=type)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
AUTOLOAD_OFF = "BENCH_DISABLE_PLUGIN_AUTOLOAD"


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered plugin: its name, class and where it came from."""

    name: str
    cls: T
    origin: str  # "builtin:attacks/pgd.py" or "dist:bench-foo==0.3"


@dataclass(frozen=True)
class Failure:
    """A plugin module or entry point that could not be imported."""

    name: str
    origin: str
    error: str


class Registry(Generic[T]):
    """Maps plugin names of one kind (methods, attacks, ...) to validated plugin classes."""

    def __init__(self, kind: str, base: type, builtin: tuple[str, ...]) -> None:
        self.kind = kind  # singular, e.g. "attack"
        self.plural = kind + "s"
        self.group = f"bench.{self.plural}"
        self.base = base
        self.builtin = builtin
        self._entries: dict[str, Entry[T]] = {}
        self._pending: dict[str, importlib.metadata.EntryPoint] = {}
        self._failures: dict[str, Failure] = {}
        self._clashes: dict[str, Failure] = {}  # names claimed twice; `error` names both
        self._discovered = False

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator that validates a plugin and files it under `name`."""

        def decorator(cls: T) -> T:
            self._add(name, cls, _builtin_origin(cls))
            return cls

        return decorator

    def get(self, name: str) -> Entry[T]:
        """The entry for `name`; unknown names raise with "did you mean" hints."""
        self._discover()
        if name in self._clashes:
            clash = self._clashes[name]
            raise PluginLoadError(f"The {self.kind} name '{name}' is {clash.error}.")
        if name in self._pending:
            self._load_entry_point(name)
        if name in self._entries:
            return self._entries[name]
        if name in self._failures:
            failure = self._failures[name]
            raise PluginLoadError(
                f"The {self.kind} '{name}' ({failure.origin}) failed to import: {failure.error}"
            )
        hints = difflib.get_close_matches(str(name)[:100], self.names(), n=3)
        hint = f" Did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
        raise UnknownPluginError(
            f"Unknown {self.kind} {shown(name)}.{hint} {len(self.names())} {self.plural}"
            f" registered; see 'bench list {self.plural}'."
        )

    def names(self) -> list[str]:
        """Sorted names of every registered plugin, including entry points not yet imported."""
        self._discover()
        return sorted(set(self._entries) | set(self._pending))

    def entries(self) -> list[Entry[T]]:
        """Every plugin, imported; entry points that fail to import move to `failures()`."""
        self._discover()
        for name in list(self._pending):
            self._load_entry_point(name)
        return [self._entries[name] for name in sorted(self._entries)]

    def failures(self) -> list[Failure]:
        """Plugin modules and entry points that failed to import, and names claimed twice, for
        `bench list` to report."""
        self.entries()
        failed = {**self._failures, **self._clashes}
        return [failed[name] for name in sorted(failed)]

    @contextmanager
    def temporary(self) -> Iterator[Registry[T]]:
        """Restore the registry's state on exit, so tests can register throwaway plugins."""
        self._discover()
        saved = (
            dict(self._entries),
            dict(self._pending),
            dict(self._failures),
            dict(self._clashes),
        )
        try:
            yield self
        finally:
            self._entries, self._pending, self._failures, self._clashes = saved

    def _add(self, name: str, cls: T, origin: str) -> None:
        self._validate(name, cls)
        existing = self._entries.get(name)
        if existing is not None:
            if existing.cls is cls:
                return
            raise ValueError(
                f"The {self.kind} name '{name}' is taken twice:"
                f" by {existing.origin} and by {origin}."
            )
        self._entries[name] = Entry(name, cls, origin)

    def _validate(self, name: str, cls: T) -> None:
        problems = []
        if not NAME_PATTERN.match(name):
            problems.append(f"the name must match {NAME_PATTERN.pattern}")
        if not (inspect.isclass(cls) and issubclass(cls, self.base)):
            problems.append(f"it must subclass {self.base.__name__}")
        config = getattr(cls, "Config", None)
        frozen = getattr(getattr(config, "__dataclass_params__", None), "frozen", False)
        if not (isinstance(config, type) and dataclasses.is_dataclass(config) and frozen):
            problems.append("its Config must be a frozen dataclass")
        elif any(
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            for f in dataclasses.fields(config)
        ):
            problems.append("every field of its Config needs a default")
        if not isinstance(getattr(cls, "version", None), int):
            problems.append("it needs an integer `version`")
        if type(getattr(cls, "info", None)).__name__ != "PluginInfo":
            problems.append("it needs a PluginInfo `info`")
        if not (cls.__doc__ or "").strip():
            problems.append("it needs a docstring")
        if not problems and hasattr(cls, "contract_problems"):
            problems += cls.contract_problems()
        if problems:
            raise TypeError(f"Cannot register {self.kind} '{name}': " + "; ".join(problems) + ".")

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        for package_name in self.builtin:
            package = importlib.import_module(package_name)
            for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
                if module.name.startswith("_"):
                    continue
                qualified = f"{package_name}.{module.name}"
                try:
                    importlib.import_module(qualified)
                except Exception as error:  # reported by `bench list`, raised on use
                    self._failures[module.name] = Failure(
                        module.name, f"builtin:{qualified}", f"{type(error).__name__}: {error}"
                    )
        if os.environ.get(AUTOLOAD_OFF):
            return
        seen: set[tuple[str, str]] = set()  # one distribution found twice on the path is one
        for point in importlib.metadata.entry_points(group=self.group):
            if (point.name, point.value) in seen:
                continue
            seen.add((point.name, point.value))
            if point.name in self._clashes:
                continue
            taken = self._entries.pop(point.name, None)
            other = self._pending.pop(point.name, None)
            if taken is None and other is None:
                self._pending[point.name] = point
                continue
            first = taken.origin if taken is not None else _point_origin(other)
            self._clashes[point.name] = Failure(
                point.name,
                _point_origin(point),
                f"taken twice: by {first} and by {_point_origin(point)}; uninstall or rename one",
            )

    def _load_entry_point(self, name: str) -> None:
        point = self._pending.pop(name)
        origin = _point_origin(point)
        try:
            cls = point.load()
            self._add(name, cls, origin)
        except Exception as error:  # recorded, reported by `bench list`, raised by `get`
            self._failures[name] = Failure(name, origin, f"{type(error).__name__}: {error}")


def _point_origin(point: importlib.metadata.EntryPoint | None) -> str:
    """Where an entry point comes from: "dist:bench-foo==0.3" (its distribution)."""
    dist = None if point is None else point.dist
    return f"dist:{dist.name}=={dist.version}" if dist is not None else "dist:?"


def _builtin_origin(cls: Any) -> str:
    """The file that registered `cls`, relative to its top package's folder
    ("builtin:methods/dual_denoise/__init__.py")."""
    module = sys.modules.get(cls.__module__)
    top = sys.modules.get(cls.__module__.split(".")[0])
    file, top_file = getattr(module, "__file__", None), getattr(top, "__file__", None)
    if file is None or top_file is None:
        return "builtin:" + cls.__module__
    return "builtin:" + Path(file).relative_to(Path(top_file).parent.parent).as_posix()
