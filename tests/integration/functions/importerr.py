"""Imports a module that does not exist: Runtime.ImportModuleError."""

from __future__ import annotations

from typing import Any

import does_not_exist_xyz  # noqa: F401


def handler(event: Any, context: Any) -> None:  # never reached
    return None
