"""A helper module: exceptions raised here give stack traces across two files."""

from __future__ import annotations

from typing import Any


def level_one(data: dict[str, Any]) -> Any:
    return level_two(data, depth=1)


def level_two(data: dict[str, Any], depth: int) -> Any:
    return level_three([data], depth + 1)


def level_three(items: list[Any], depth: int) -> Any:
    raise LookupError(f"not found at depth {depth}: {items!r}")
