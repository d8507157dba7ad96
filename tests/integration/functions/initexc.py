"""Raises while it is imported: the init error carries the class name and the traceback."""

from __future__ import annotations

from typing import Any


def _configure() -> None:
    raise RuntimeError("init failed here")


_configure()


def handler(event: Any, context: Any) -> None:  # never reached
    return None
