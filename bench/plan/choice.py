"""A plugin as a spec chose it: kind, name and resolved config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.contracts.config import config_to_dict
from bench.contracts.plugins import ATTACKS, DATASETS, DEFENSES, METHODS, TEXT_ENCODERS
from bench.contracts.registry import Registry

KINDS: dict[str, Registry[Any]] = {
    "method": METHODS,
    "dataset": DATASETS,
    "attack": ATTACKS,
    "defense": DEFENSES,
    "text_encoder": TEXT_ENCODERS,
}


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
