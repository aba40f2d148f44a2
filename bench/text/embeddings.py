"""Class embeddings, the zero-shot classifier's weights, cached on disk by exactly what made them.

A class embedding is the ULIP/OpenShape recipe: embed every prompt of the class, L2-normalise
each, average, L2-normalise again. The cache key covers the encoder identity (which includes a
weights hash), the template strings themselves and the class list, so editing any of them can
never serve a stale matrix. OpenShape's published embedding files load through the same shape.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.contracts.errors import DataError, UsageError, WeightsError
from bench.contracts.hashing import sha256_of
from bench.contracts.plugins import TextEncoder
from bench.contracts.runtime import progress
from bench.storage.home import subdir
from bench.storage.restricted_pickle import CodeInFile, load_npy
from bench.storage.verified import read_verified, write_verified
from bench.text.templates import templates

log = logging.getLogger(__name__)

RECIPE = "mean-of-unit-prompts/v2"  # bump when the averaging changes; part of the cache key
OPENSHAPE_KEY = "open_clip_text_feat"


def class_embeddings(
    encoder: TextEncoder, class_names: Sequence[str], template_set: str
) -> np.ndarray:
    """Unit-norm float32 [C, D], one row per class in the given order; cached on disk."""
    names = list(class_names)
    if not names:
        raise UsageError("Class embeddings need at least one class name.")
    published = encoder.published_class_embeddings(names)
    if published is not None:
        return published
    prompts = templates(template_set)
    key = sha256_of(
        {
            "encoder": encoder.identity(),
            "templates": list(prompts),
            "classes": names,
            "recipe": RECIPE,
        }
    )
    texts = [template.format(name) for name in names for template in prompts]
    per_prompt = _encode_cached(encoder, texts, key).reshape(len(names), len(prompts), -1)
    return _unit(per_prompt.mean(axis=1))


def text_embeddings(encoder: TextEncoder, texts: Sequence[str]) -> np.ndarray:
    """Unit-norm float32 [len(texts), D] of free texts (captions), cached by encoder and texts."""
    texts = list(texts)
    if not texts:
        raise UsageError("Text embeddings need at least one text.")
    key = sha256_of({"encoder": encoder.identity(), "texts": texts, "recipe": "unit-text/v1"})
    return _encode_cached(encoder, texts, key)


def _encode_cached(encoder: TextEncoder, texts: list[str], key: str) -> np.ndarray:
    """Unit-norm embeddings of `texts`, one row each, from the cache file named by `key`
    (class embeddings cache the per-prompt rows they average)."""
    path = subdir("embeddings") / f"{key}.npy"
    cached = _read_cache(path, key, len(texts))
    if cached is not None:
        return cached
    # One call for all texts: an encoder may batch and pad them by length, so splitting the
    # list would change the embeddings in their last bits, and training on them diverges.
    report = progress(f"embed {len(texts)} texts")
    report(0, len(texts))
    raw = np.asarray(encoder.encode(texts), dtype=np.float32)
    if raw.ndim != 2 or raw.shape[0] != len(texts):
        raise WeightsError(
            f"The text encoder returned shape {raw.shape} for {len(texts)} prompts,"
            " not one embedding per prompt."
        )
    report(len(texts), len(texts))
    result = _unit(raw)
    buffer = io.BytesIO()
    np.save(buffer, result, allow_pickle=False)
    write_verified(path, buffer.getvalue(), key)
    return result


def load_precomputed(
    path: Path | str, class_names: Sequence[str], *, allow_pickle: bool = False
) -> np.ndarray:
    """Unit-norm float32 [C, D] in `class_names` order from an OpenShape `*_cat_name_pt_feat.npy`.

    Two layouts exist: a pickled dict category -> {"open_clip_text_feat": [1, D]} (ModelNet40,
    ScanObjectNN), read by the restricted unpickler (`bench.storage.restricted_pickle`: numpy
    arrays and plain containers only, no code runs); and a plain [C, D] array whose rows follow
    the sorted class list (Objaverse-LVIS). A file that names anything else is refused unless
    `allow_pickle=True`, for a file whose source the user trusts.
    """
    path = Path(path)
    names = list(class_names)
    if not path.is_file():
        raise WeightsError(f"The precomputed embedding file '{path}' does not exist.")
    try:
        data = load_npy(path)
    except CodeInFile as error:
        if not allow_pickle:
            raise WeightsError(
                f"{error} Pass allow_pickle=True only if you trust where the file came from."
            ) from None
        log.warning("Loading %s with pickle code, as allow_pickle asks.", path)
        data = np.load(path, allow_pickle=True)
    except DataError as error:
        raise WeightsError(str(error)) from None
    if isinstance(data, np.ndarray) and data.dtype == object and data.ndim == 0:
        rows = _rows_from_dict(data.item(), names, path)
    elif isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype.kind == "f":
        rows = _rows_from_sorted_matrix(data, names, path)
    else:
        raise WeightsError(
            f"'{path}' is neither a dict of {OPENSHAPE_KEY!r} entries nor a 2-D float array."
        )
    return _unit(rows.astype(np.float32))


def _rows_from_dict(table: object, names: list[str], path: Path) -> np.ndarray:
    if not isinstance(table, dict):
        raise WeightsError(f"'{path}' holds a {type(table).__name__}, not a dict of categories.")
    missing = [name for name in names if name not in table]
    if missing:
        raise WeightsError(f"'{path}' has no embedding for the classes {missing}.")
    rows = []
    for name in names:
        entry = table[name]
        if not isinstance(entry, dict) or OPENSHAPE_KEY not in entry:
            raise WeightsError(f"'{path}': the entry for '{name}' has no {OPENSHAPE_KEY!r}.")
        feature = _feature(entry[OPENSHAPE_KEY], name, path)
        if feature.ndim == 2 and feature.shape[0] == 1:
            feature = feature[0]
        if feature.ndim != 1:
            raise WeightsError(
                f"'{path}': the embedding of '{name}' has shape {feature.shape}, not [D] or [1, D]."
            )
        rows.append(feature)
    if len({row.shape for row in rows}) != 1:
        raise WeightsError(f"'{path}': the class embeddings do not all have the same width.")
    return np.stack(rows)


NUMBER_KINDS = {"f": "floats", "i": "integers", "u": "integers"}
OTHER_KINDS = {"U": "text", "S": "text", "O": "Python objects", "b": "booleans"}


def _feature(value: object, name: str, path: Path) -> np.ndarray:
    """One class's embedding as float32. Text, booleans, objects and ragged lists are refused,
    never cast: `float("0.5")` would turn a column of strings into a plausible embedding."""
    try:
        array = np.asarray(value)
    except ValueError:
        raise WeightsError(
            f"'{path}': the embedding of '{name}' is ragged: its rows differ in length."
        ) from None
    if array.dtype.kind not in NUMBER_KINDS:
        held = OTHER_KINDS.get(array.dtype.kind, str(array.dtype))
        raise WeightsError(f"'{path}': the embedding of '{name}' holds {held}, not numbers.")
    if not np.all(np.isfinite(array)):
        raise WeightsError(f"'{path}': the embedding of '{name}' holds NaN or infinite values.")
    return array.astype(np.float32)


def _rows_from_sorted_matrix(matrix: np.ndarray, names: list[str], path: Path) -> np.ndarray:
    order = sorted(set(names))
    if len(order) != matrix.shape[0]:
        raise WeightsError(
            f"'{path}' has {matrix.shape[0]} rows for the sorted class list, but"
            f" {len(order)} distinct classes were given."
        )
    if not np.all(np.isfinite(matrix)):
        raise WeightsError(f"'{path}' holds NaN or infinite values.")
    index = {name: row for row, name in enumerate(order)}
    return matrix[[index[name] for name in names]]


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    if not np.all(np.isfinite(vectors)) or np.any(norms == 0):
        raise WeightsError("The text embeddings contain zero or non-finite vectors.")
    return (vectors / norms).astype(np.float32)


def _read_cache(path: Path, key: str, classes: int) -> np.ndarray | None:
    """The cached matrix, or None if absent, damaged or unreadable; never pickles."""
    cached = read_verified(path, "text embeddings", key)
    if cached is None:
        return None
    try:
        data = np.load(io.BytesIO(cached.data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        log.warning("Recomputing the corrupt class-embedding cache %s: %s", path.name, error)
        return None
    if (
        data.dtype != np.float32
        or data.ndim != 2
        or data.shape[0] != classes
        or not np.all(np.isfinite(data))
    ):
        log.warning("Recomputing the class-embedding cache %s: unexpected content", path.name)
        return None
    return data
