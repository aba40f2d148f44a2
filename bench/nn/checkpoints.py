"""Published encoder checkpoints, loaded into the harness's modules with strict key accounting.

A released checkpoint stores the point encoder beside other things (the CLIP side, a logit
scale, the optimizer), under a top-level key and a key prefix (`module.` from
DistributedDataParallel). A layout names which of the file's tensors are the encoder's; every
one of the module's tensors must be there with its shape and nothing else under the encoder's
names may be, or the load is an error that lists what is missing and what is unexpected, so
that a wrong or truncated file never yields numbers.

Files load with `torch.load(weights_only=True)` (or as safetensors); a file that needs pickle
code to load is refused, unless the user passes `trust_pickle` for a file whose source they
trust: then the globals the file names are admitted one by one, only from the few that released
checkpoints are known to pickle (`TRUSTED_GLOBALS`: saved arguments and numpy numbers, none of
which runs code), the load stays `weights_only`, and what was admitted is logged.
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
from bench.contracts.finite import require_finite_weights
from bench.contracts.releases import PublishedLayout
from bench.storage.file_hashes import cached_sha256

log = logging.getLogger(__name__)
SHOWN = 5  # names listed in an error before "and N more"
# What released checkpoints pickle beside their tensors, and why each is safe to build.
TRUSTED_GLOBALS = {
    "argparse.Namespace": "the training arguments ULIP and ULIP-2 save",
    "numpy.core.multiarray.scalar": "a numpy number (a saved accuracy or loss)",
    "numpy._core.multiarray.scalar": "a numpy number (a saved accuracy or loss)",
    "numpy.dtype": "a numpy number's type",
    "_codecs.encode": "the bytes of a numpy number in an older pickle",
}
NUMPY_DTYPE = re.compile(r"numpy\.dtypes\.\w+DType")  # numpy >= 1.25 names each number type
# How torch names a global it will not build: by its pickle opcode or by its class.
NEEDED = re.compile(r"Unsupported global: GLOBAL ([\w.]+)|but got <class '([\w.]+)'>")


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
    require_finite_weights(
        state,
        f"the encoder in {path}",
        "the file is damaged or not these weights: download it again and check its sha256.",
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
    allowed: dict[str, Any] = {}  # the globals a trusted file names, admitted one by one
    while True:
        try:
            with torch.serialization.safe_globals(list(allowed.values())):
                content = torch.load(path, map_location="cpu", weights_only=True)
            break
        except pickle.UnpicklingError as error:
            match = NEEDED.search(str(error))
            needed = match and (match.group(1) or match.group(2))
            if not needed or needed in allowed:
                raise WeightsError(f"{path} is not a readable torch checkpoint.") from None
            if not trust_pickle:
                raise WeightsError(
                    f"{path} needs pickle code to load (it names {needed}), so it was not"
                    " loaded; pass trust_pickle (--trust-pickle) only for a file from a source"
                    " you trust."
                ) from None
            allowed[needed] = _trusted_global(needed, path)
        except (RuntimeError, EOFError, OSError, ValueError) as error:
            raise WeightsError(f"{path} is not a readable torch checkpoint ({error}).") from None
    if allowed:
        log.warning("%s was read with trust_pickle, admitting %s.", path, ", ".join(allowed))
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


def _trusted_global(dotted: str, path: Path) -> Any:
    """The class a trusted checkpoint names, if released checkpoints are known to need it."""
    if dotted not in TRUSTED_GLOBALS and not NUMPY_DTYPE.fullmatch(dotted):
        raise WeightsError(
            f"{path} names {dotted}, which no released checkpoint needs, so it was not loaded"
            f" even with trust_pickle (admitted are {', '.join(TRUSTED_GLOBALS)} and numpy's"
            " number types)."
        )
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise WeightsError(f"{path} names {dotted}, which cannot be imported here.") from None


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")
