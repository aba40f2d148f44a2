"""Reading published pickles (object-array `.npy` files, ULIP's `.dat`) without running code.

Some public evaluation files (OpenShape's ModelNet40 `test_pc.npy`, its LVIS clouds) are numpy
object arrays, which numpy can only load by unpickling, and ULIP's ModelNet40 `.dat` files are
plain pickles; unpickling can run any code the file names. This reader admits only what such
files are made of: numpy arrays, dtypes and scalars, and plain dicts, lists, tuples, strings
and numbers. A file that names anything else is refused in one sentence, before any of it
runs.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from bench.contracts.errors import DataError

ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("builtins", "dict"),
    ("builtins", "list"),
    ("builtins", "tuple"),
    ("collections", "OrderedDict"),
}


class CodeInFile(DataError):
    """A data file that would run code to load: refused before any of it runs."""


class _ArraysOnly(pickle.Unpickler):
    def __init__(self, file: Any, source: Path) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise CodeInFile(
                f"{self.source} asks to run {module}.{name} while loading; only numpy arrays and"
                " plain containers are accepted from a data file, so it was not loaded."
            )
        return super().find_class(module, name)


def load_npy(path: Path) -> Any:
    """The array stored in `path`: plain arrays as numpy reads them, object arrays through the
    restricted unpickler; a truncated or foreign file is a DataError."""
    with _reading(path, ".npy file"), path.open("rb") as file:
        version = npy_format.read_magic(file)
        read_header = (
            npy_format.read_array_header_1_0
            if version == (1, 0)
            else npy_format.read_array_header_2_0
        )
        shape, _, dtype = read_header(file)
        if not dtype.hasobject:
            file.seek(0)
            return npy_format.read_array(file, allow_pickle=False)
        array = _ArraysOnly(file, path).load()
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise DataError(f"{path} does not hold the array of shape {tuple(shape)} its header says.")
    return array


def load_pickle(path: Path) -> Any:
    """The object pickled in `path`, through the same restricted unpickler."""
    with _reading(path, "pickle of arrays"), path.open("rb") as file:
        return _ArraysOnly(file, path).load()


@contextmanager
def _reading(path: Path, what: str) -> Iterator[None]:
    """A truncated or foreign file as one DataError; a missing one stays FileNotFoundError."""
    try:
        yield
    except FileNotFoundError:
        raise
    except (ValueError, EOFError, IndexError, pickle.UnpicklingError, OSError) as error:
        raise DataError(f"{path} is not a readable {what} ({error}).") from None
