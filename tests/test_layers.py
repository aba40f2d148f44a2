"""The house's shape: data flows one way through the layers, and no module imports itself back.

Read from the source's imports (type-only ones included: a type is a dependency too). A layer
may import the layers below it and, without cycles, its siblings; never a layer above.
"""

from __future__ import annotations

from collections import defaultdict

import grimp
import pytest

# Lowest first. Plugins (attacks, defenses, baselines, methods) sit where their imports put
# them; the core reaches them only through the registry, by name.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("bench.contracts",),
    ("bench.storage",),
    ("bench.data", "bench.nn", "bench.text"),
    ("bench.datasets", "bench.text_encoders"),
    ("bench.adversarial", "bench.auxiliary"),
    ("bench.defenses", "attacks"),
    ("bench.plan",),
    ("bench.training",),
    ("baselines", "methods"),
    ("bench.evaluation",),
    ("bench.running", "bench.api"),
    ("leaderboard",),
    ("bench.sharing",),  # bundles: checked with the plan and the store, shown by the leaderboard
    ("bench.commands", "bench.progress"),
    ("bench.cli",),
    ("bench.testing",),  # what tests use, which may drive the whole command
)
PACKAGES = ("bench", "attacks", "baselines", "methods", "leaderboard")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    graph = grimp.build_graph(*PACKAGES)
    # The root module re-exports the API by name and loads it on first use (PEP 562); its
    # imports of `bench.api` are for type checkers only, so they are no dependency of anything
    # that imports `bench` (tests/test_api.py holds that `import bench` loads no torch).
    for imported in sorted(graph.find_modules_directly_imported_by("bench")):
        if imported.startswith("bench.api"):
            graph.remove_import(importer="bench", imported=imported)
    return graph


def _layer(module: str) -> int | None:
    for index, members in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in members):
            return index
    return None  # `bench` itself: the version, below everything


def test_every_module_has_a_layer(graph: grimp.ImportGraph) -> None:
    loose = sorted(m for m in graph.modules if m != "bench" and _layer(m) is None)
    assert not loose, f"modules in no layer of LAYERS: {loose}"


def test_no_layer_imports_a_layer_above_it(graph: grimp.ImportGraph) -> None:
    upward = [
        f"{module} ({_name(module)}) imports {imported} ({_name(imported)})"
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
        if (_layer(imported) or 0) > (_layer(module) or 0)
    ]
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_no_import_cycle_between_modules_or_packages(graph: grimp.ImportGraph) -> None:
    modules = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    packages: dict[str, set[str]] = defaultdict(set)
    for module, imported in modules.items():
        packages[_package(module)] |= {_package(i) for i in imported} - {_package(module)}
    for edges in (modules, packages):
        cycle = _a_cycle(edges)
        assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _name(module: str) -> str:
    index = _layer(module)
    return "bench" if index is None else " | ".join(LAYERS[index])


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "bench" and len(parts) > 1 else parts[0]


def _a_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the nodes along it, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for following in sorted(edges.get(node, ())):
            if state.get(following) == 1:
                return path[path.index(following) :] + [following]
            if following not in state and (found := visit(following)) is not None:
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None
