"""The smoke config of a plugin: the small settings its checks and the test suite's cells use.

A plugin declares `smoke` when its defaults are too slow for a CPU check (a long training
recipe, hundreds of attack steps); without one its defaults are the smoke config.
"""

from __future__ import annotations

from typing import Any

from bench.contracts.config import config_to_dict
from bench.contracts.plugins import REGISTRIES, Plugin


def smoke_config(cls: type[Plugin[Any]]) -> Any:
    """The plugin's `smoke` config, or its defaults."""
    return cls.smoke if cls.smoke is not None else cls.Config()


def smoke_params(kind: str, name: str) -> dict[str, Any]:
    """The smoke config as spec params: only the values that differ from the defaults."""
    cls = REGISTRIES[kind].get(name).cls
    smoke, defaults = config_to_dict(smoke_config(cls)), config_to_dict(cls.Config())
    return {key: value for key, value in smoke.items() if value != defaults[key]}


def smoke_flags(kind: str, name: str) -> list[str]:
    """The smoke config as `bench run --set` flags, e.g. `--set=method.epochs=1`."""
    return [f"--set={kind[:-1]}.{key}={value}" for key, value in smoke_params(kind, name).items()]
