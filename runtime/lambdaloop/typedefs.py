"""Protocols for the seams between modules: what a helper needs from the object it is given,
so that a test double or another implementation type-checks without ``Any``.

Imported under ``TYPE_CHECKING`` only (``typing`` would cost the cold start): nothing here
exists at run time.
"""

from __future__ import annotations

from typing import Protocol

from .transport import Response


class LogSink(Protocol):
    """Where function logs go: stdout, or frames on the platform's telemetry fd (``logs``)."""

    is_json: bool

    def log(self, msg: str, frame: bytes | None = None) -> None: ...

    def log_error(self, lines: list[str]) -> None: ...


class StreamConnection(Protocol):
    """What a streamed upload writes to: the Runtime API connection (``transport.Connection``)."""

    def send(self, data: bytes | bytearray | memoryview) -> None: ...

    def read_response(self) -> Response: ...

    def close(self) -> None: ...
