"""A local Lambda platform for one execution environment: the Runtime API, the RIE's invoke
API plus a streaming invoke endpoint, the Extensions and Telemetry APIs.

Modules, one job each: ``http`` (sans-IO HTTP/1.1), ``routes`` (paths to endpoints),
``invocation`` (an invoke and its response channel), ``outcome`` (how it ended, and the
invoke API's answer), ``report`` (START/END/REPORT), ``records`` (platform.* telemetry
records), ``extensions`` and ``telemetry`` (their APIs' state), ``process`` (child
processes), ``sandbox`` (the lifecycle), ``runtime_api`` and ``invoke_api`` (the handlers),
``server`` (asyncio plumbing), ``app`` (assembly, background thread), ``client`` (a sync
invoke client), ``harness`` (what the pytest fixture returns), ``rie_backend`` and
``rie_proxy`` (the same through AWS's RIE binary). See README.md next to this file.

Nothing heavy is imported here: ``from lambdaloop.emulator import EmulatorConfig`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lambdaloop.emulator.config import EmulatorConfig

if TYPE_CHECKING:
    from lambdaloop.emulator.app import BackgroundEmulator, Emulator

__all__ = ["BackgroundEmulator", "Emulator", "EmulatorConfig"]


def __getattr__(name: str) -> Any:
    if name in ("BackgroundEmulator", "Emulator"):
        from lambdaloop.emulator import app

        return getattr(app, name)
    raise AttributeError(name)
