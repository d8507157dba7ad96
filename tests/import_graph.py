"""The import graph of the ``lambdaloop`` package, read from the source (every import counts:
module level, inside functions, and under ``if TYPE_CHECKING``).

    python tests/import_graph.py          # print the block ARCHITECTURE.md carries
    python tests/import_graph.py --write  # and put it in ARCHITECTURE.md

``tests/test_architecture.py`` checks that the graph has no cycle and that ARCHITECTURE.md
shows it as it is.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "runtime" / "lambdaloop"
# Tools for developers, never loaded by the runtime (nor shipped in the layer or the image).
TOOLING = (
    "lambdaloop.emulator",
    "lambdaloop.cli",
    "lambdaloop.cli_events",
    "lambdaloop.durable_driver",
    "lambdaloop.package",
    "lambdaloop.profile",
    "lambdaloop.pytest_plugin",
    "lambdaloop.rie",
)
BEGIN = "<!-- import-graph: begin (python tests/import_graph.py) -->"
END = "<!-- import-graph: end -->"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports. ``from pkg import sub`` names ``pkg.sub``
    (not ``pkg``'s ``__init__``) when ``sub`` is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    found.add(f"{target}.{alias.name}")
                elif target in known:
                    found.add(target)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def is_tooling(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in TOOLING)


def block() -> str:
    """The runtime's modules and what each imports (tooling left out), as ARCHITECTURE.md shows them."""
    lines = [BEGIN, "```"]
    for name, deps in sorted(graph().items()):
        if is_tooling(name):
            continue
        short = name.removeprefix("lambdaloop.") if name != "lambdaloop" else "lambdaloop (__init__)"
        shown = ", ".join(sorted(dep.removeprefix("lambdaloop.") for dep in deps)) or "-"
        lines.append(f"{short:<22} -> {shown}")
    lines += ["```", END]
    return "\n".join(lines)


def write(doc: Path = PACKAGE.parents[1] / "ARCHITECTURE.md") -> None:
    text = doc.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    doc.write_text(text[:start] + block() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write()
    sys.stdout.write(block() + "\n")
