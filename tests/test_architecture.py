"""The package's shape, held by tests: no import cycles of any kind, the runtime never imports
the developer tooling, the process is ended only by the entry points, and ARCHITECTURE.md shows
the import graph as it is."""

from __future__ import annotations

import ast
from pathlib import Path

import import_graph  # tests/import_graph.py

ROOT = Path(__file__).resolve().parents[1]
# The only modules that end the process (sys.exit, os._exit, raise SystemExit): the entry points,
# the loop's exit policy, the worker supervisor, the SIGTERM handler, and the tools.
MAY_END_THE_PROCESS = {
    "lambdaloop.__main__",
    "lambdaloop.bootstrap",
    "lambdaloop.entry",
    "lambdaloop.loop",
    "lambdaloop.workers",
    "lambdaloop.extensions.shutdown",
}


def test_no_import_cycles_anywhere_in_the_package() -> None:
    assert import_graph.cycles(import_graph.graph()) == []


def test_the_runtime_never_imports_the_tooling() -> None:
    graph = import_graph.graph()
    offending = {
        name: sorted(dep for dep in deps if import_graph.is_tooling(dep))
        for name, deps in graph.items()
        if not import_graph.is_tooling(name)
    }
    assert {name: deps for name, deps in offending.items() if deps} == {}


def _ends_the_process(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and (owner.id, node.func.attr) in {("sys", "exit"), ("os", "_exit")}:
                lines.append(node.lineno)
        elif isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id == "SystemExit":
                lines.append(node.lineno)
    return lines


def test_only_the_entry_points_and_the_loop_end_the_process() -> None:
    found = {}
    for name, path in import_graph.modules().items():
        if import_graph.is_tooling(name) or name in MAY_END_THE_PROCESS:
            continue
        lines = _ends_the_process(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            found[name] = lines
    assert found == {}, "helpers report; the loop and the entry points decide whether the process ends"


def test_architecture_md_shows_the_import_graph_as_it_is() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert import_graph.block() in text, "regenerate it: python tests/import_graph.py"
