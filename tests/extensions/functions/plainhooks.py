"""Loaded through LAMBDALOOP_EXTENSIONS: only the hooks API, no declaration, so lambdaloop
registers it under its module name."""

from __future__ import annotations

from extfns import record

from lambdaloop import hooks


@hooks.after_invoke
def _after(event: object, context: object, outcome: object) -> None:
    record("plain_after")
