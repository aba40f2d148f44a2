"""Published encoder checkpoints, loaded into the harness's modules with strict key accounting.

A released checkpoint stores the point encoder beside other things (the CLIP side, a logit
scale, the optimizer), under a top-level key and a key prefix (`module.` from
DistributedDataParallel). A layout names which of the file's tensors are the encoder's; every
one of the module's tensors must be there with its shape and nothing else under the encoder's
names may be, or the load is an error that lists what is missing and what is unexpected, so
that a wrong or truncated file never yields numbers.

Files load with `torch.load(weights_only=True)` (or as safetensors); a file that needs pickle
code to load is refused, unless the user passes `trust_pickle` for a file whose source they
trust: then exactly the globals the file names are admitted, each one logged, and the load
stays `weights_only`.
"""

from __future__ import annotations

import importlib
import logging
import pickle
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import torch

from bench.contracts.errors import WeightsError
from bench.contracts.releases import PublishedLayout
from bench.storage.file_hashes import cached_sha256

log = logging.getLogger(__name__)
SHOWN = 5  # names listed in an error before "and N more"
MAX_TRUSTED_GLOBALS = 32  # a trusted file naming more than this is not a checkpoint


class StateHolder(Protocol):
    """What a strict load needs of its target: a module, or a module-like view of some of a
    module's tensors (a text tower inside a whole CLIP)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, torch.Tensor], /, strict: bool = ...) -> object: ...


def load_published(
    module: StateHolder, path: Path, layout: PublishedLayout, trust_pickle: bool = False
) -> str:
    """Load the encoder's tensors from `path` into `module`, strictly; returns the file's sha256."""
    content = read_checkpoint(path, trust_pickle)
    flat = path.suffix == ".safetensors"  # a flat name -> tensor file: no top-level entry
    state = _encoder_state(content, replace(layout, top_level_key=None) if flat else layout, path)
    expected = module.state_dict()
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} of the encoder's tensors are missing ({_some(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} are not the encoder's ({_some(unexpected)})")
        raise WeightsError(f"The checkpoint {path} does not fit the encoder: {'; '.join(parts)}.")
    wrong = [
        f"{name} is {tuple(state[name].shape)}, not {tuple(value.shape)}"
        for name, value in expected.items()
        if tuple(state[name].shape) != tuple(value.shape)
    ]
    if wrong:
        raise WeightsError(
            f"The checkpoint {path} has tensors of other shapes: {_some(wrong)} (another model"
            " size or variant?)."
        )
    module.load_state_dict(state, strict=True)
    return cached_sha256(path)


def read_checkpoint(path: Path, trust_pickle: bool = False) -> dict[str, Any]:
    """The checkpoint's top-level mapping, read without running pickle code unless trusted."""
    if not path.is_file():
        raise WeightsError(f"The checkpoint {path} does not exist.")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(path))
        except (SafetensorError, OSError) as error:
            raise WeightsError(f"{path} is not a readable safetensors file ({error}).") from None
    allowed: list[Any] = []  # the globals a trusted file names, admitted one by one
    while True:
        try:
            with torch.serialization.safe_globals(allowed):
                content = torch.load(path, map_location="cpu", weights_only=True)
            break
        except pickle.UnpicklingError as error:
            needed = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
            if needed is None or len(allowed) >= MAX_TRUSTED_GLOBALS:
                raise WeightsError(f"{path} is not a readable torch checkpoint.") from None
            if not trust_pickle:
                raise WeightsError(
                    f"{path} needs pickle code to load (it names {needed.group(1)}), so it was"
                    " not loaded; pass trust_pickle (--trust-pickle) only for a file from a source"
                    " you trust."
                ) from None
            log.warning("%s names %s; admitted, as trust_pickle asks.", path, needed.group(1))
            allowed.append(_named_global(needed.group(1), path))
        except (RuntimeError, EOFError, OSError, ValueError) as error:
            raise WeightsError(f"{path} is not a readable torch checkpoint ({error}).") from None
    if not isinstance(content, dict):
        raise WeightsError(f"{path} holds a {type(content).__name__}, not a checkpoint mapping.")
    return content


def _encoder_state(
    content: dict[str, Any], layout: PublishedLayout, path: Path
) -> dict[str, torch.Tensor]:
    state = content
    if layout.top_level_key is not None:
        if layout.top_level_key not in content:
            raise WeightsError(
                f"{path} has no '{layout.top_level_key}' entry (it has {_some(list(content))});"
                " is it a checkpoint of this method?"
            )
        state = content[layout.top_level_key]
    prefix = layout.key_prefix
    first = next(iter(state), "")
    if (
        layout.optional_prefix
        and isinstance(first, str)
        and first.startswith(layout.optional_prefix)
    ):
        prefix = layout.optional_prefix + prefix
    names = {
        key[len(prefix) :]: value
        for key, value in state.items()
        if isinstance(key, str) and key.startswith(prefix)
    }
    owned = {name: value for name, value in names.items() if layout.owns(name)}
    if not owned:
        raise WeightsError(
            f"{path} has no tensor named {layout.key_prefix}{layout.owned[0]}...: not a"
            " checkpoint of this method's layout."
        )
    if not all(isinstance(value, torch.Tensor) for value in owned.values()):
        raise WeightsError(f"{path} holds something other than tensors under the encoder's names.")
    return owned


def _named_global(dotted: str, path: Path) -> Any:
    """The class or function a trusted checkpoint names, e.g. argparse.Namespace."""
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise WeightsError(f"{path} names {dotted}, which cannot be imported here.") from None


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
