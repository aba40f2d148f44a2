"""Strict conversion between user input (YAML, `--set key=value`) and plugin Config dataclasses.

YAML 1.1 (what PyYAML implements) reads `1e-2` as a string, `no` as False and `010` as 8. The
loader here resolves scalars the YAML 1.2 way instead, and every value is then checked against
the field's declared type, so a mistyped value is an error rather than a silent surprise.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

import yaml

from bench.contracts.errors import ConfigError, shown


class StrictLoader(yaml.SafeLoader):
    """A SafeLoader with YAML 1.2 scalars: 1e-2 is a float, only true/false are booleans."""


_REPLACED_TAGS = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:float", "tag:yaml.org,2002:int"}
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag not in _REPLACED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
StrictLoader.add_constructor(
    "tag:yaml.org,2002:int", lambda loader, node: int(loader.construct_scalar(node), 10)
)


def _mapping_without_duplicates(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    """A mapping; a key given twice is an error, not a silent "the last one wins"."""
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, typing.Hashable):
            continue  # construct_mapping reports unhashable keys
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def load_yaml(text: str) -> Any:
    """Parse YAML with YAML 1.2 scalar rules; a key given twice in a mapping is an error."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


def yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error as one line: what is wrong and where."""
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return f"{error.problem or error.context}{where}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def parse_value(text: str) -> Any:
    """A `--set` value: YAML 1.2 scalar or flow collection, e.g. `0.02`, `linf`, `[1, 2]`."""
    try:
        return load_yaml(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"Cannot parse the value {shown(text)}: {yaml_problem(error)}.") from None


def build_config(cls: type, params: Mapping[str, Any], where: str, name: str = "") -> Any:
    """Instantiate the Config dataclass `cls` from user params; unknown keys and bad types fail.

    `where` names the plugin in sentences ("method 'ulip'"); a bad value is `name.key` (the
    plugin's name, as `bench.contracts.bounds` names it), or `where.key` without a name.
    """
    if not isinstance(params, Mapping):
        raise ConfigError(f"The parameters of {where} must be a mapping, not {shown(params)}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in params.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key)[:100], list(fields), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            known = ", ".join(fields) or "none"
            raise ConfigError(f"{where} has no parameter {shown(key)}.{hint} Known: {known}.")
        values[key] = _coerce(value, hints[key], f"{name or where}.{key}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"Invalid parameters for {where}: {error}") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config instance (tuples become lists)."""
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arm in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arm, where)
            except ConfigError as error:
                errors.append(error)
        raise errors[0]
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(
            f"{where} must be one of {', '.join(map(repr, args))}, not {shown(value)}."
        )
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, not {shown(value)}.")
        if len(args) == 2 and args[1] is Ellipsis or not args:
            elements = [args[0] if args else Any] * len(value)
        elif len(value) != len(args):
            raise ConfigError(
                f"{where} must be a list of {len(args)} values, not {len(value)}: {shown(value)}."
            )
        else:
            elements = list(args)
        return tuple(
            _coerce(v, element, f"{where}[{i}]")
            for i, (v, element) in enumerate(zip(value, elements, strict=True))
        )
    if annotation is Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{where} must be a finite number, not {value}.")
            try:
                return float(value)
            except OverflowError:
                raise ConfigError(f"{where} must be a finite number, not {shown(value)}.") from None
    elif annotation is str:
        if isinstance(value, str):
            return value
    else:
        raise ConfigError(f"{where} has an unsupported type {annotation!r}.")
    raise ConfigError(
        f"{where} must be of type {annotation.__name__}, not {type(value).__name__} {shown(value)}."
    )
