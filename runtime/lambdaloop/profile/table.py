"""The profile as a terminal table: the phases, then the imports that cost the most."""

from __future__ import annotations

from .capture import Profile
from .importtime import ImportNode


def ms(us: float) -> str:
    return f"{us / 1000:9.1f}"


def top_imports(
    profile: Profile, phases: tuple[str, ...] = ("handler import", "first invocation")
) -> list[tuple[ImportNode, ImportNode | None, str]]:
    """Every import of the function's own time (its module tree, and what the first invocation
    imported), most expensive first by cumulative time: (node, the module that imported it, phase)."""
    rows = []
    for phase in profile.phases:
        if phase.name not in phases:
            continue
        for top in phase.imports:
            for node, _, parent in top.walk():
                rows.append((node, parent, phase.name))
    rows.sort(key=lambda row: (-row[0].cumulative_us, row[0].name))
    return rows


def format_table(profile: Profile, top: int = 15) -> str:
    lines = [f"lambdaloop profile {profile.handler}  (task root {profile.task_root}, {profile.python})", ""]
    lines.append(f"  {'phase':<34}{'ms':>9}   imports (ms)")
    handler_module = profile.handler_module()
    for phase in profile.phases:
        imported = f"{phase.import_us / 1000:9.1f}" if phase.imports else ""
        lines.append(f"  {phase.name:<34}{ms(phase.seconds * 1e6)}   {imported}")
        if phase.name == "handler import" and handler_module is not None:
            lines.append(f"    {'module body of ' + handler_module.name:<32}{ms(handler_module.self_us)}")
    lines.append(f"  {'total (init + first invocation)':<34}{ms(profile.total_seconds * 1e6)}")
    if profile.outcome != "ok":
        lines.append(f"  the first invocation raised {profile.outcome}")
    rows = top_imports(profile)
    lines += ["", f"  top {min(top, len(rows))} imports by cumulative time (the function's own):"]
    lines.append(f"  {'cumulative':>10} {'self':>9}   module  (imported by)")
    for node, parent, phase_name in rows[:top]:
        by = f"  ({parent.name})" if parent else ("  (first invocation)" if phase_name == "first invocation" else "")
        lines.append(f"  {ms(node.cumulative_us):>10} {ms(node.self_us)}   {node.name}{by}")
    return "\n".join(lines)
