"""``python -X importtime`` output as a tree.

Each line is ``import time: SELF | CUMULATIVE | <indent>NAME``, in the order imports *finish*:
a module's own imports are printed before it, one level deeper (two spaces per level). So the
children of a line are the deeper lines printed since the last line at its own level.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S.*?)\s*$")


@dataclass
class ImportNode:
    name: str
    self_us: int
    cumulative_us: int
    children: list[ImportNode] = field(default_factory=list)

    def walk(
        self, depth: int = 0, parent: ImportNode | None = None
    ) -> Iterator[tuple[ImportNode, int, ImportNode | None]]:
        yield self, depth, parent
        for child in self.children:
            yield from child.walk(depth + 1, self)


def parse_line(line: str) -> tuple[int, int, int, str] | None:
    """(self µs, cumulative µs, depth, module) or None for any other line (the header too)."""
    match = LINE.match(line)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2, match.group(4)


class TreeBuilder:
    """Feed lines one by one (they arrive interleaved with other output); ``take()`` returns the
    finished top-level imports since the last call, so phases can be cut between them."""

    def __init__(self) -> None:
        self.pending: dict[int, list[ImportNode]] = {}  # depth -> finished nodes awaiting a parent
        self.done: list[ImportNode] = []

    def feed(self, line: str) -> bool:
        parsed = parse_line(line)
        if parsed is None:
            return False
        self_us, cumulative_us, depth, name = parsed
        node = ImportNode(name, self_us, cumulative_us, self.pending.pop(depth + 1, []))
        if depth == 0:
            self.done.append(node)
        else:
            self.pending.setdefault(depth, []).append(node)
        return True

    def take(self) -> list[ImportNode]:
        done, self.done = self.done, []
        return done


def parse(lines: Iterable[str]) -> list[ImportNode]:
    builder = TreeBuilder()
    for line in lines:
        builder.feed(line)
    return builder.take()
