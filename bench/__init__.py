"""A benchmark harness for zero-shot adversarial robustness of 3D point-cloud recognition.

The Python API (docs/api.md) is loaded on first use of one of its names (PEP 562), so that
`import bench` and the command line start without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.api import attacks
    from bench.api.evaluation import evaluate
    from bench.api.loading import Dataset, Method, load_dataset, load_method
    from bench.api.result import Result
    from bench.api.victim import Victim

__version__ = "0.1.0"

# Each public name and the module that defines it (for `attacks`, the module itself).
_API = {
    "Dataset": "bench.api.loading",
    "Method": "bench.api.loading",
    "Result": "bench.api.result",
    "Victim": "bench.api.victim",
    "attacks": "bench.api.attacks",
    "evaluate": "bench.api.evaluation",
    "load_dataset": "bench.api.loading",
    "load_method": "bench.api.loading",
}
__all__ = [
    "Dataset",
    "Method",
    "Result",
    "Victim",
    "attacks",
    "evaluate",
    "load_dataset",
    "load_method",
]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'bench' has no attribute {name!r}")
    module = importlib.import_module(_API[name])
    value = module if module.__name__ == f"bench.api.{name}" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
