"""The profile as a self-contained SVG icicle chart: time runs left to right, each row one level
deeper in the import tree. A box's width is its cumulative time; the part of it not covered by
the boxes below is the module's own time (its body, compiling it). Hover for exact figures."""

from __future__ import annotations

from html import escape

from .capture import Profile
from .importtime import ImportNode

WIDTH = 1200
ROW = 22
TOP = 58
MAX_DEPTH = 24
CHAR_PX = 6.6  # DejaVu Sans / Verdana at 11 px, roughly
# Per phase: (hue, saturation). The first invocation gets the warm colour: it is the user's code.
HUES = {
    "interpreter start": (210, 14),
    "runtime start": (200, 55),
    "handler import": (35, 85),
    "first invocation": (130, 45),
}


class Svg:
    def __init__(self, scale: float) -> None:
        self.scale = scale  # px per second
        self.parts: list[str] = []
        self.rows = 0

    def box(self, x: float, depth: int, seconds: float, label: str, tooltip: str, colour: str) -> None:
        width = seconds * self.scale
        if width < 0.6:
            return
        y = TOP + depth * ROW
        self.rows = max(self.rows, depth + 1)
        text = ""
        room = int((width - 6) / CHAR_PX)
        if room >= 3:
            shown = label if len(label) <= room else label[: room - 1] + "…"
            text = f'<text x="{x + 3:.1f}" y="{y + 15}">{escape(shown)}</text>'
        self.parts.append(
            f'<g><title>{escape(tooltip)}</title><rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{ROW - 2}" '
            f'rx="2" fill="{colour}"/>{text}</g>'
        )


def colour(phase: str, depth: int) -> str:
    hue, saturation = HUES.get(phase, (0, 0))
    return f"hsl({hue + depth * 4 % 24},{saturation}%,{min(88, 52 + depth * 4)}%)"


def draw_import(svg: Svg, node: ImportNode, x: float, depth: int, phase: str) -> None:
    if depth >= MAX_DEPTH:
        return
    seconds = node.cumulative_us / 1e6
    tooltip = f"{node.name}: {node.cumulative_us / 1000:.1f} ms cumulative, {node.self_us / 1000:.1f} ms self ({phase})"
    svg.box(x, depth, seconds, f"{node.name} {node.cumulative_us / 1000:.1f}", tooltip, colour(phase, depth))
    child_x = x
    for child in node.children:
        draw_import(svg, child, child_x, depth + 1, phase)
        child_x += child.cumulative_us / 1e6 * svg.scale


def render_svg(profile: Profile) -> str:
    total = profile.total_seconds or 1e-9
    svg = Svg(WIDTH / total)
    svg.box(0, 0, total, f"cold start: init + first invocation {total * 1000:.1f} ms",
            f"{profile.handler}: {total * 1000:.1f} ms", "hsl(0,0%,72%)")  # fmt: skip
    x = 0.0
    for phase in profile.phases:
        label = f"{phase.name} {phase.seconds * 1000:.1f} ms"
        svg.box(x, 1, phase.seconds, label, label, colour(phase.name, 0))
        child_x = x
        for node in phase.imports:
            draw_import(svg, node, child_x, 2, phase.name)
            child_x += node.cumulative_us / 1e6 * svg.scale
        x += phase.seconds * svg.scale
    height = TOP + svg.rows * ROW + 24
    legend = []
    x = 4.0
    for name in HUES:
        legend.append(f'<rect x="{x:.0f}" y="{height - 18}" width="12" height="12" rx="2" fill="{colour(name, 0)}"/>')
        legend.append(f'<text x="{x + 16:.0f}" y="{height - 8}" fill="#555">{escape(name)}</text>')
        x += 16 + len(name) * CHAR_PX + 18
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="11">',
            f'<rect width="{WIDTH}" height="{height}" fill="#fbfbf8"/>',
            f'<text x="4" y="20" font-size="15" font-weight="bold">lambdaloop profile {escape(profile.handler)}</text>',
            f'<text x="4" y="40" fill="#555">cold start {total * 1000:.1f} ms; width = time, rows = import depth; '
            f"a box's uncovered part is the module's own time; hover for figures</text>",
            *svg.parts,
            *legend,
            "</svg>",
            "",
        ]
    )
