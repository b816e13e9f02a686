"""The layering of DESIGN.md, read from the source: every import (also those inside functions)
of every qxub module, walked as a graph."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import qxub

PACKAGE = Path(qxub.__file__).parent


def _module_name(path: Path) -> str:
    parts = ["qxub", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The qxub modules `name` imports: `from a import b` counts as `a.b` when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def _in(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_the_walk_sees_imports() -> None:
    graph = _graph()
    assert "qxub.remote.openssh" in graph["qxub.remote.reach"]
    assert "qxub.proc" in graph["qxub.remote.openssh"]  # `from qxub import proc`
    assert "qxub.sync.push" in graph["qxub.mirroring.push"]


def test_remote_imports_no_sync() -> None:
    graph = _graph()
    wrong = {
        (name, target)
        for name, targets in graph.items()
        if _in(name, "qxub.remote")
        for target in targets
        if _in(target, "qxub.sync", "qxub.mirroring")
    }
    assert wrong == set()


def test_sync_knows_no_ssh() -> None:
    graph = _graph()
    wrong = {
        (name, target)
        for name, targets in graph.items()
        if _in(name, "qxub.sync")
        for target in targets
        if _in(target, "qxub.remote", "qxub.mirroring")
    }
    assert wrong == set()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_the_cli_imports_neither_paramiko_nor_watchdog() -> None:
    code = (
        "import sys, qxub.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('paramiko', 'watchdog')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
