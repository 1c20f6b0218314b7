"""The package's layers point down only, and no modules import each other in a cycle.

From the top: the CLI and the parts that compose the others (stack, bench, demo, hybrid, sync);
the bridge and the store's API; the store's engine; its storage; and beneath all of them
``pgs3v.auth`` and the shared modules (durable files, the HTTP harness).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SOURCE = Path(__file__).parent.parent / "src"

# Each package, with the pgs3v packages it must never import (directly, at any place in a module).
FORBIDDEN = {
    "pgs3v.store.storage": ("pgs3v.store.engine", "pgs3v.store.api", "pgs3v.store.server", "pgs3v.bridge",
                            "pgs3v.auth"),
    "pgs3v.store.engine": ("pgs3v.store.api", "pgs3v.store.server", "pgs3v.bridge", "pgs3v.auth"),
    "pgs3v.store": ("pgs3v.bridge", "pgs3v.sync", "pgs3v.stack", "pgs3v.bench", "pgs3v.sql_schema", "pgs3v.demo",
                    "pgs3v.hybrid", "pgs3v.cli"),
    "pgs3v.auth": ("pgs3v.store", "pgs3v.bridge"),
    "pgs3v.bridge": ("pgs3v.store", "pgs3v.sync", "pgs3v.stack"),
    "pgs3v.durable_files": ("pgs3v.store", "pgs3v.auth", "pgs3v.bridge"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every pgs3v module with the pgs3v modules it imports anywhere in its text."""
    modules = {_module_name(path): path for path in SOURCE.rglob("*.py")}
    found: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from pgs3v.store import x" imports the module pgs3v.store.x when there is one.
                targets = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                           for alias in node.names]
            else:
                continue
            found[name].update(target for target in targets if target.startswith("pgs3v"))
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package: str) -> None:
    wrong = sorted(f"{module} imports {target}" for module, targets in _imports().items() if _within(module, package)
                   for target in targets for forbidden in FORBIDDEN[package] if _within(target, forbidden))
    assert not wrong


def test_no_modules_import_each_other_in_a_cycle() -> None:
    graph = _imports()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles
