"""Lambda extensions in Python: external extensions (``Extension``), the Telemetry API
(``Extension.on_telemetry``), internal extensions in the runtime process
(``InternalExtension``, ``LAMBDALOOP_EXTENSIONS``) and graceful shutdown on SIGTERM.

Names load on first use (PEP 562): the runtime imports ``lambdaloop.extensions.internal``
on its start-up path, which runs this file, and must not pay for the telemetry or
listener modules there.

Modules, one job each: ``events`` (values), ``wire`` (Extensions API bytes, pure),
``telemetry`` (Telemetry API subscription and records, pure), ``client`` (the calls, over
``lambdaloop.transport``), ``listener`` (the HTTP server batches arrive on), ``extension``
(the external extension API), ``internal`` (in-process extensions), ``shutdown`` (SIGTERM).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .events import (
        ExtensionAPIError,
        InvokeEvent,
        Registration,
        ShutdownEvent,
        Tracing,
    )
    from .extension import Extension, RegisteredExtension
    from .internal import InternalExtension
    from .telemetry import (
        Buffering,
        ExtensionLog,
        FunctionLog,
        PlatformReport,
        PlatformRuntimeDone,
        PlatformStart,
        ReportMetrics,
        TelemetryRecord,
    )

_EXPORTS = {
    "ExtensionAPIError": "events",
    "InvokeEvent": "events",
    "Registration": "events",
    "ShutdownEvent": "events",
    "Tracing": "events",
    "Extension": "extension",
    "RegisteredExtension": "extension",
    "InternalExtension": "internal",
    "Buffering": "telemetry",
    "ExtensionLog": "telemetry",
    "FunctionLog": "telemetry",
    "PlatformReport": "telemetry",
    "PlatformRuntimeDone": "telemetry",
    "PlatformStart": "telemetry",
    "ReportMetrics": "telemetry",
    "TelemetryRecord": "telemetry",
}

__all__ = [
    "Buffering",
    "Extension",
    "ExtensionAPIError",
    "ExtensionLog",
    "FunctionLog",
    "InternalExtension",
    "InvokeEvent",
    "PlatformReport",
    "PlatformRuntimeDone",
    "PlatformStart",
    "RegisteredExtension",
    "Registration",
    "ReportMetrics",
    "ShutdownEvent",
    "TelemetryRecord",
    "Tracing",
]


def __getattr__(name: str) -> object:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lambdaloop.extensions' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value
    return value
