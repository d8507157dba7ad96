"""The biggest wins, in words: a heavy import the handler needs only on some paths, and
modules a read-only task root makes Python compile at every cold start."""

from __future__ import annotations

import ast
import os
import time
from dataclasses import dataclass, field

from .capture import Profile
from .importtime import ImportNode

# An import is worth moving when it costs this much of the cold start, and at least this much.
HEAVY_SHARE = 0.10
HEAVY_FLOOR_US = 10_000
# Missing .pyc are worth a hint when compiling the sources costs this much.
PYC_SHARE = 0.02
PYC_FLOOR_US = 2_000


@dataclass
class Uses:
    """Where a name bound by a top-level import is read."""

    module_level: bool = False
    functions: set[str] = field(default_factory=set)
    always: set[str] = field(default_factory=set)  # functions where a use is not under a branch


class UseFinder(ast.NodeVisitor):
    BRANCHES = (ast.If, ast.Try, ast.For, ast.While, ast.With, ast.AsyncFor, ast.AsyncWith, ast.IfExp, ast.BoolOp)

    def __init__(self, names: set[str]) -> None:
        self.names = names
        self.uses: dict[str, Uses] = {name: Uses() for name in names}
        self.function: list[str] = []
        self.branch = 0

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:  # decorators run at import
            self.visit(decorator)
        outer_branch, self.branch = self.branch, 0
        self.function.append(node.name)
        for statement in node.body:
            self.visit(statement)
        self.function.pop()
        self.branch = outer_branch

    visit_AsyncFunctionDef = visit_FunctionDef

    def generic_visit(self, node: ast.AST) -> None:
        branching = isinstance(node, self.BRANCHES) or (hasattr(ast, "Match") and isinstance(node, ast.Match))
        self.branch += branching
        super().generic_visit(node)
        self.branch -= branching

    def visit_Name(self, node: ast.Name) -> None:
        self.use(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.generic_visit(node)

    def use(self, name: str) -> None:
        if name not in self.uses:
            return
        uses = self.uses[name]
        if not self.function:
            uses.module_level = True
            return
        uses.functions.add(self.function[0])
        if not self.branch:
            uses.always.add(self.function[0])


def top_level_imports(tree: ast.Module) -> list[tuple[ast.stmt, str, list[str]]]:
    """(statement, module imported, names it binds) for the module's unconditional imports."""
    found: list[tuple[ast.stmt, str, list[str]]] = []
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                bound = alias.asname or alias.name.split(".")[0]
                found.append((statement, alias.name, [bound]))
        elif isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            found.append((statement, statement.module, [a.asname or a.name for a in statement.names if a.name != "*"]))
    return found


def import_cost_us(handler_node: ImportNode, module: str) -> int:
    """What importing `module` cost the handler's module: its direct imports named by the module
    or one of its parent packages (the first import of a package pays for the package)."""
    wanted = {".".join(module.split(".")[: i + 1]) for i in range(module.count(".") + 1)}
    return sum(child.cumulative_us for child in handler_node.children if child.name in wanted)


def lazy_import_hints(profile: Profile, handler_node: ImportNode, source: str) -> list[str]:
    function = profile.handler.rsplit(".", 1)[1]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    imports = top_level_imports(tree)
    finder = UseFinder({name for _, _, names in imports for name in names})
    for statement in tree.body:
        if not isinstance(statement, (ast.Import, ast.ImportFrom)):
            finder.visit(statement)
    init_us = sum(p.seconds for p in profile.phases[:3]) * 1e6
    hints = []
    for statement, module, names in imports:
        cost = import_cost_us(handler_node, module)
        if cost < max(HEAVY_FLOOR_US, HEAVY_SHARE * init_us):
            continue
        uses = [finder.uses[name] for name in names]
        if any(u.module_level for u in uses):
            continue
        functions = set().union(*(u.functions for u in uses))
        always = set().union(*(u.always for u in uses))
        line = f"imported at line {statement.lineno}"
        if not functions:
            hints.append(
                f"`{module}` costs {cost / 1000:.0f} ms of init ({100 * cost / init_us:.0f}%) and {handler_node.name} "
                f"never uses it ({line}): drop the import"
            )
        elif function not in always:
            where = ", ".join(sorted(functions))
            hints.append(
                f"`{module}` costs {cost / 1000:.0f} ms of init ({100 * cost / init_us:.0f}%) but is used only on some "
                f"paths (in {where}, {line}): import it inside the branch that needs it, so cold starts that "
                f"do not take that path skip it"
            )
    return hints


def missing_pyc_hint(profile: Profile) -> str | None:
    missing = [name for name, (_, cached) in profile.task_modules.items() if not cached or not os.path.exists(cached)]
    if not missing:
        return None
    cost = sum(compile_seconds(profile.task_modules[name][0]) for name in missing) * 1e6
    init_us = sum(p.seconds for p in profile.phases[:3]) * 1e6
    if cost < max(PYC_FLOOR_US, PYC_SHARE * init_us):
        return None
    shown = ", ".join(sorted(missing)[:5]) + (" ..." if len(missing) > 5 else "")
    return (
        f"{len(missing)} of {len(profile.task_modules)} modules under the task root have no .pyc ({shown}); "
        f"compiling them takes {cost / 1000:.0f} ms here. Lambda's /var/task is read-only, so "
        f"every cold start compiles them again: ship .pyc (`lambdaloop package` does, for the target Python)"
    )


def compile_seconds(source_file: str) -> float:
    """What compiling the module costs each cold start that finds no .pyc for it."""
    try:
        with open(source_file, "rb") as f:
            source = f.read()
        started = time.perf_counter()
        compile(source, source_file, "exec", dont_inherit=True)
        return time.perf_counter() - started
    except (OSError, SyntaxError, ValueError):
        return 0.0


def hints(profile: Profile) -> list[str]:
    out = []
    handler_node = profile.handler_module()
    module = profile.handler.rsplit(".", 1)[0].replace("/", ".")
    source_file = profile.task_modules.get(module, ("", ""))[0]
    if handler_node is not None and source_file:
        with open(source_file, encoding="utf-8", errors="replace") as f:
            out += lazy_import_hints(profile, handler_node, f.read())
    pyc = missing_pyc_hint(profile)
    if pyc:
        out.append(pyc)
    return out
