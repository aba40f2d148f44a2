"""A plugin as a spec chose it: kind, name and resolved config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from bench.contracts.config import config_to_dict
from bench.contracts.plugins import ATTACKS, DATASETS, DEFENSES, METHODS, TEXT_ENCODERS, Plugin
from bench.contracts.registry import Entry, Registry

P = TypeVar("P", bound=type)

KINDS: dict[str, Registry[Any]] = {
    "method": METHODS,
    "dataset": DATASETS,
    "attack": ATTACKS,
    "defense": DEFENSES,
    "text_encoder": TEXT_ENCODERS,
}


def plugin_class(registry: Registry[P], name: str) -> P:
    """The class registered under `name`, typed as its registry's kind of plugin: registration
    admits subclasses of the registry's base only, which an entry's plain `type` does not say."""
    return cast(P, registry.get(name).cls)


def entry_class(entry: Entry) -> type[Plugin[Any]]:
    """An entry's class as a plugin, for code that works across kinds: every registry's base is
    a `Plugin`."""
    return cast("type[Plugin[Any]]", entry.cls)


@dataclass(frozen=True)
class Choice:
    """One plugin with its resolved config."""

    kind: str
    name: str
    config: Any

    @property
    def plugin(self) -> Any:
        """The registered plugin class."""
        return KINDS[self.kind].get(self.name).cls

    @property
    def version(self) -> int:
        return int(self.plugin.version)

    def identity(self) -> dict[str, Any]:
        """Name, version and config, less the fields that only say where it runs or where its
        files are (devices, data folders): what its results depend on."""
        runtime = self.plugin.runtime_fields
        config = {k: v for k, v in config_to_dict(self.config).items() if k not in runtime}
        return {"name": self.name, "version": self.version, "config": config}

    def whole(self) -> dict[str, Any]:
        """Name, version and every config field, where its files are included: the key of
        what it loads, since two folders may hold different files."""
        return {"name": self.name, "version": self.version, "config": config_to_dict(self.config)}

    def instantiate(self) -> Any:
        return self.plugin(self.config)

    def label(self, base: Any = None) -> str:
        """Name plus the parameters that differ from the plugin's defaults (or from `base`),
        less the fields that say where it runs or where its files are."""
        defaults = config_to_dict(base if base is not None else type(self.config)())
        runtime = self.plugin.runtime_fields
        changed = {
            k: v
            for k, v in config_to_dict(self.config).items()
            if defaults[k] != v and k not in runtime
        }
        inner = ", ".join(f"{k}={v}" for k, v in changed.items())
        return f"{self.name}({inner})" if inner else self.name
