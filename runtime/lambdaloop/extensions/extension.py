"""External extensions: a Python program in ``/opt/extensions/`` that registers, optionally
subscribes to telemetry, then waits for INVOKE and SHUTDOWN events.

    from lambdaloop.extensions import Extension

    ext = Extension()                     # name: this executable's file name

    @ext.on_invoke
    def invoke(event): ...                # InvokeEvent: request_id, deadline_ms, tracing

    @ext.on_shutdown
    async def shutdown(event): ...        # ShutdownEvent: reason, deadline_ms (async works too)

    @ext.on_telemetry(types=["platform", "function"])
    def records(batch): ...               # list of TelemetryRecord (typed subclasses)

    ext.run()                             # = ext.register().run()

``register()`` is kept apart from ``run()`` (as Rust's ``lambda_extension`` does): code that
needs the function's name or version can run between the two, still inside init.
A handler that raises is reported to the platform (``exit/error``) and ends the extension;
a failure between register and the first event is reported as ``init/error``.
"""

from __future__ import annotations

import os
import sys

from .client import ExtensionsClient
from .events import INVOKE, SHUTDOWN, ExtensionAPIError, InvokeEvent, Registration, ShutdownEvent

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Iterable
    from typing import Any, TypeVar

    from .listener import Listener
    from .telemetry import Buffering, TelemetryRecord

    F = TypeVar("F", bound=Callable[..., Any])

# Never drain past this share of the shutdown budget: the user's shutdown handler needs the rest.
_DRAIN_SHARE = 0.5


class Caller:
    """Calls a sync or async function. Coroutines run on one event loop created on first
    need and kept, so async extensions pay for asyncio only when they use it."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, func: Callable[..., Any], *args: Any) -> Any:
        result = func(*args)
        if hasattr(result, "__await__"):
            if self._loop is None:
                import asyncio

                self._loop = asyncio.new_event_loop()
            result = self._loop.run_until_complete(result)
        return result

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None


def default_name() -> str:
    """The platform matches external extensions by the executable's file name."""
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""


class TelemetryOptions:
    __slots__ = ("buffering", "callback", "host", "port", "schema_version", "types")

    def __init__(
        self,
        callback: Callable[[list[TelemetryRecord]], Any],
        types: Iterable[str],
        buffering: Buffering | None,
        port: int,
        host: str | None,
        schema_version: str | None,
    ) -> None:
        from .telemetry import Buffering, check_port, check_types

        self.callback = callback
        self.types = check_types(list(types))  # checked now, not at subscribe time
        self.buffering = buffering or Buffering()
        if port:
            check_port(port)
        self.port = port
        self.host = host
        self.schema_version = schema_version


class Extension:
    def __init__(
        self,
        name: str | None = None,
        *,
        events: Iterable[str] | None = None,
        accept_account_id: bool = True,
        address: str | None = None,
    ) -> None:
        self.name = name or default_name()
        self.events = None if events is None else tuple(events)
        self.accept_account_id = accept_account_id
        self.address = address or os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
        self.invoke_handler: Callable[[InvokeEvent], Any] | None = None
        self.shutdown_handler: Callable[[ShutdownEvent], Any] | None = None
        self.telemetry: TelemetryOptions | None = None

    def on_invoke(self, func: F) -> F:
        self.invoke_handler = func
        return func

    def on_shutdown(self, func: F) -> F:
        self.shutdown_handler = func
        return func

    def on_telemetry(
        self,
        func: Callable[[list[TelemetryRecord]], Any] | None = None,
        *,
        types: Iterable[str] | None = None,
        buffering: Buffering | None = None,
        port: int = 0,
        host: str | None = None,
        schema_version: str | None = None,
    ) -> Any:
        """Subscribe to the Telemetry API at register time; ``func`` gets each batch as a
        list of records. Types and buffering are checked here, before any call. Use as
        ``@ext.on_telemetry`` or ``@ext.on_telemetry(types=[...], buffering=Buffering(...))``.
        If you subscribe to ``extension`` records, do not print from ``func``: your lines
        would come back in the next batch."""

        def decorate(callback: F) -> F:
            from .telemetry import DEFAULT_TYPES

            self.telemetry = TelemetryOptions(callback, types or DEFAULT_TYPES, buffering, port, host, schema_version)
            return callback

        return decorate if func is None else decorate(func)

    def registered_events(self) -> tuple[str, ...]:
        """Explicit ``events``, else INVOKE if there is an invoke handler, and always SHUTDOWN:
        without it an external extension cannot know when to stop."""
        if self.events is not None:
            return self.events
        return (INVOKE, SHUTDOWN) if self.invoke_handler is not None else (SHUTDOWN,)

    def register(self) -> RegisteredExtension:
        if not self.address:
            raise ExtensionAPIError("register", 0, "", "AWS_LAMBDA_RUNTIME_API is not set: not inside Lambda")
        client = ExtensionsClient(self.address)
        features = ("accountId",) if self.accept_account_id else ()
        registration = client.register(self.name, self.registered_events(), features)
        registered = RegisteredExtension(self, client, registration)
        if self.telemetry is not None:
            try:
                registered.subscribe_telemetry(self.telemetry)
            except BaseException as exc:
                registered.init_error(exc, "Extension.TelemetrySubscriptionFailed")
                raise
        return registered

    def run(self) -> None:
        self.register().run()


class RegisteredExtension:
    """A registered extension: its ``registration`` (function name, version, handler,
    account id), and the event loop in ``run``."""

    def __init__(self, extension: Extension, client: ExtensionsClient, registration: Registration) -> None:
        self.extension = extension
        self.client = client
        self.registration = registration
        self.listener: Listener | None = None
        self.telemetry_errors = 0
        self._call = Caller()

    @property
    def telemetry_port(self) -> int | None:
        return self.listener.port if self.listener is not None else None

    def subscribe_telemetry(self, options: TelemetryOptions) -> None:
        from .listener import Listener
        from .telemetry import destination_uri

        caller = Caller()  # the listener's threads get their own event loop

        def on_body(body: bytes) -> None:
            from .telemetry import parse_batch

            try:
                caller(options.callback, parse_batch(body))
            except Exception as exc:
                self.telemetry_errors += 1
                if self.telemetry_errors == 1:
                    # Once only: with "extension" records subscribed, each line comes back.
                    sys.stderr.write(f"{self.extension.name}: telemetry callback failed: {exc!r} (reported once)\n")

        self.listener = Listener(on_body, host=options.host, port=options.port)
        self.listener.start()
        try:
            self.client.subscribe_telemetry(
                options.types, options.buffering, destination_uri(self.listener.port), options.schema_version
            )
        except BaseException:
            self.listener.close()
            self.listener = None
            raise

    def next_event(self) -> InvokeEvent | ShutdownEvent:
        return self.client.next_event()

    def run(self) -> None:
        """Wait for events and dispatch them until SHUTDOWN has been handled."""
        ext = self.extension
        try:
            while True:
                event = self.client.next_event()
                if isinstance(event, ShutdownEvent):
                    self._drain_telemetry(event)
                    if ext.shutdown_handler is not None:
                        self._dispatch(ext.shutdown_handler, event)
                    return
                if ext.invoke_handler is not None:
                    self._dispatch(ext.invoke_handler, event)
        finally:
            if self.listener is not None:
                self.listener.close()
            self._call.close()

    def _dispatch(self, handler: Callable[..., Any], event: InvokeEvent | ShutdownEvent) -> None:
        try:
            self._call(handler, event)
        except Exception as exc:
            self.exit_error(exc)
            raise

    def _drain_telemetry(self, event: ShutdownEvent) -> None:
        """Give the platform a moment to deliver what it still buffers (up to the buffering
        timeout, at most half of what is left of the shutdown budget)."""
        if self.listener is None or self.extension.telemetry is None:
            return
        budget_s = event.remaining_ms() / 1000 * _DRAIN_SHARE
        quiet_s = min(self.extension.telemetry.buffering.timeout_ms / 1000 + 0.05, 0.25)
        self.listener.wait_quiet(quiet_s, budget_s)

    def init_error(self, error: BaseException | str, error_type: str | None = None) -> None:
        """Tell the platform init failed (it then restarts the environment); exit after."""
        self._report(self.client.init_error, error, error_type)

    def exit_error(self, error: BaseException | str, error_type: str | None = None) -> None:
        """Tell the platform the extension is exiting on an error; exit after."""
        self._report(self.client.exit_error, error, error_type)

    def _report(self, post: Callable[..., None], error: BaseException | str, error_type: str | None) -> None:
        if isinstance(error, BaseException):
            message = str(error) or type(error).__name__
            import traceback

            stack = [frame.rstrip("\n") for frame in traceback.format_tb(error.__traceback__)]
            error_type = error_type or f"Extension.{type(error).__name__}"
        else:
            message, stack = error, []
            error_type = error_type or "Extension.Error"
        try:
            post(error_type, message, stack)
        except ExtensionAPIError as exc:
            sys.stderr.write(f"{self.extension.name}: could not report {error_type}: {exc}\n")
