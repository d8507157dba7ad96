"""The values the Extensions API hands out: a registration, INVOKE and SHUTDOWN events, errors.

Plain classes with slots rather than dataclasses: ``internal.py`` imports this module on
the runtime's start-up path, where ``dataclasses`` (and the ``inspect``/``re`` it pulls in)
would cost milliseconds of every cold start.
"""

from __future__ import annotations

import time

INVOKE = "INVOKE"
SHUTDOWN = "SHUTDOWN"
EVENT_TYPES = (INVOKE, SHUTDOWN)

# Shutdown reasons, lower-cased: the docs say SPINDOWN/TIMEOUT/FAILURE, RAPID's LMI model
# sends "spindown"/"failure", the classic RIE "SandboxTerminated".
SPINDOWN = "spindown"
TIMEOUT = "timeout"
FAILURE = "failure"


class _Value:
    """Equality and repr from ``__slots__``, so events compare and print usefully in tests."""

    __slots__ = ()

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        # Subclasses that only add properties declare empty slots: gather them all.
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            names.extend(n for n in getattr(klass, "__slots__", ()) if n not in names)
        return tuple(names)

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._names())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *(repr(f) for f in self._fields())))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._names())
        return f"{type(self).__name__}({args})"


class ExtensionAPIError(Exception):
    """The Extensions or Telemetry API refused a call (or could not be reached: status 0).

    ``error_type`` is the platform's ``errorType`` (``Extension.InvalidExtensionName``,
    ``Extension.RegistrationClosed``, ...) when it sent one."""

    def __init__(self, what: str, status: int, error_type: str = "", message: str = "") -> None:
        self.what = what
        self.status = status
        self.error_type = error_type
        self.message = message
        detail = f"{error_type}: {message}" if error_type else message
        super().__init__(f"{what} failed (HTTP {status}): {detail}" if status else f"{what} failed: {detail}")


class Registration(_Value):
    """What ``/extension/register`` answered. ``account_id`` is set only when the
    ``accountId`` feature was asked for and the platform knows it."""

    __slots__ = ("account_id", "extension_id", "function_name", "function_version", "handler")

    def __init__(
        self,
        extension_id: str,
        function_name: str = "",
        function_version: str = "",
        handler: str = "",
        account_id: str | None = None,
    ) -> None:
        self.extension_id = extension_id
        self.function_name = function_name
        self.function_version = function_version
        self.handler = handler
        self.account_id = account_id


class Tracing(_Value):
    __slots__ = ("type", "value")

    def __init__(self, type: str, value: str) -> None:
        self.type = type
        self.value = value


class _Timed(_Value):
    __slots__ = ()
    deadline_ms: int

    def remaining_ms(self) -> int:
        """Milliseconds until ``deadline_ms`` (epoch ms), never negative."""
        return max(0, self.deadline_ms - int(time.time() * 1000))


class InvokeEvent(_Timed):
    """An invocation started. It never carries the payload (the platform's rule)."""

    __slots__ = ("deadline_ms", "event_id", "invoked_function_arn", "request_id", "tracing")
    event_type = INVOKE

    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        invoked_function_arn: str = "",
        tracing: Tracing | None = None,
        event_id: str | None = None,
    ) -> None:
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self.tracing = tracing
        self.event_id = event_id  # RAPID's Lambda-Extension-Event-Identifier header, if sent


class ShutdownEvent(_Timed):
    """The environment is going away. ``reason`` is lower-cased (``spindown``, ``timeout``,
    ``failure``, or whatever else the platform sent); ``raw_reason`` is as sent."""

    __slots__ = ("deadline_ms", "event_id", "raw_reason", "reason")
    event_type = SHUTDOWN

    def __init__(self, raw_reason: str, deadline_ms: int, event_id: str | None = None) -> None:
        self.raw_reason = raw_reason
        self.reason = raw_reason.lower()
        self.deadline_ms = deadline_ms
        self.event_id = event_id


# What ``next_event`` returns (a runtime union: 3.10+ builds it without importing typing).
Event = InvokeEvent | ShutdownEvent
