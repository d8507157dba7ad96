"""The Runtime API port: runtime, Extensions API and Telemetry API handlers.

Each handler reads the request, asks the sandbox, and answers with RAPID's status codes
and error bodies (``{"errorMessage", "errorType"}``, as observed from the RIE).
"""

from __future__ import annotations

import json
import uuid

from lambdaloop import protocol
from lambdaloop.emulator import outcome as oc
from lambdaloop.emulator import routes, telemetry
from lambdaloop.emulator.extensions import Extension, RegistrationRefused
from lambdaloop.emulator.invocation import Invocation, decode_error_trailer, next_headers, strip_error_cause
from lambdaloop.emulator.sandbox import Sandbox
from lambdaloop.emulator.server import BodyTooLarge, Exchange

# Streamed responses: 200 MB (Lambda's limit since July 2025).
MAX_STREAMED_PAYLOAD = 200 * 1024 * 1024
ACCEPTED = {"status": "OK"}
H_EXTENSION_NAME = "Lambda-Extension-Name"
H_EXTENSION_ID = "Lambda-Extension-Identifier"
H_EXTENSION_ERROR_TYPE = "Lambda-Extension-Function-Error-Type"
H_ACCEPT_FEATURE = "Lambda-Extension-Accept-Feature"


class ApiError(Exception):
    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


def _transition_refused(current: str, target: str) -> ApiError:
    return ApiError(
        403,
        "InvalidStateTransition",
        f"State transition from {current} to {target} failed for runtime. Error: State transition is not allowed",
    )


def _fitting(pieces: list[bytes], room: int) -> list[bytes]:
    """The leading pieces whose total stays within ``room`` bytes."""
    fitting = []
    for piece in pieces:
        room -= len(piece)
        if room < 0:
            break
        fitting.append(piece)
    return fitting


class RuntimeApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def dispatch(self, exchange: Exchange) -> None:
        route = routes.runtime_route(exchange.head.method, exchange.head.path)
        if route is None:
            await exchange.respond(404, [("Content-Type", "text/plain; charset=utf-8")], b"404 page not found\n")
            return
        handler = getattr(self, f"_{route.name}")
        try:
            await handler(exchange, route)
        except ApiError as exc:
            await exchange.drain_body()
            await exchange.respond_error(exc.status, exc.error_type, str(exc))
        except BodyTooLarge:
            await exchange.respond_error(413, "RequestEntityTooLarge", "Exceeded maximum allowed request size.")

    # ---- runtime ------------------------------------------------------------------------

    async def _next(self, exchange: Exchange, route: routes.Route) -> None:
        sandbox = self.sandbox
        if sandbox.concurrent:
            await self._next_concurrently(exchange)
            return
        current = sandbox.current
        if current is not None and current.pending is not None and not current.finished:
            # The runtime moved on after a refused response: the invoke ends with that error
            # and, the runtime being alive, a 200 (what the RIE answers then).
            current.finish(current.pending)
        if sandbox.init_error is not None:
            raise _transition_refused("InitError", "Ready")
        if current is not None and not current.finished:
            # The RIE hands the same event out again here and the invoke hangs; a runtime doing
            # this has lost track of its invoke, so it is told so instead.
            raise _transition_refused("Invoke", "Ready")
        await self._deliver_next(exchange)

    async def _next_concurrently(self, exchange: Exchange) -> None:
        # Many /next at once are the normal case here: each waits in line for its invoke.
        if self.sandbox.init_error is not None:
            raise _transition_refused("InitError", "Ready")
        await self._deliver_next(exchange)

    async def _deliver_next(self, exchange: Exchange) -> None:
        sandbox = self.sandbox
        invocation = await sandbox.wait_next()
        if invocation is None:
            raise _transition_refused("Ready", "Ready")
        headers = next_headers(
            invocation.request, invocation.invocation_id, invocation.deadline_ms, sandbox.config.function_arn
        )
        await exchange.respond(200, headers, invocation.request.body)

    def _target(self, exchange: Exchange, request_id: str, target: str) -> Invocation:
        if self.sandbox.concurrent:
            current = self.sandbox.in_flight.get(request_id)
            if current is None:
                raise ApiError(400, "InvalidRequestID", "Invalid request ID")
        else:
            current = self.sandbox.current
        if current is None:
            raise _transition_refused("Ready", target)
        if current.request_id != request_id:
            raise ApiError(400, "InvalidRequestID", "Invalid request ID")
        echoed = exchange.headers.get(protocol.H_INVOCATION_ID)
        if echoed and echoed != current.invocation_id:
            raise ApiError(410, "InvokeTimeout", "Invocation id does not match the current invocation: stale post")
        if current.post_kind is not None or current.finished:
            raise _transition_refused(current.post_kind or "InvocationResponse", target)
        current.post_kind = target
        return current

    async def _response(self, exchange: Exchange, route: routes.Route) -> None:
        invocation = self._target(exchange, route.request_id, "InvocationResponse")
        mode = exchange.headers.get(protocol.H_RESPONSE_MODE)
        content_type = exchange.headers.get("content-type")
        if mode and mode != "streaming":
            # Only "streaming" or no header at all are valid (even "buffered" is refused).
            invocation.finish(
                oc.platform_error("Runtime.InvalidResponseModeHeader", f"Invalid function response mode {mode!r}")
            )
            self.sandbox.changed.notify()
            raise ApiError(400, "InvalidFunctionResponseMode", "Invalid function response mode")
        if mode == "streaming":
            await self._streamed(exchange, invocation, content_type or "application/octet-stream")
            return
        body = await self._buffered_body(exchange, invocation)
        await invocation.send_head(content_type or "application/json", streaming=False)
        invocation.finish(oc.success(body, content_type))
        self.sandbox.changed.notify()
        await exchange.respond_json(202, ACCEPTED)

    async def _buffered_body(self, exchange: Exchange, invocation: Invocation) -> bytes:
        """The body of a buffered /response or /error. Above the limit the runtime is told
        413, and the invoke ends with Function.ResponseSizeTooLarge at its next move (200 if
        it lives on, 502 if it exits), as RAPID does."""
        try:
            return await exchange.read_body(protocol.MAX_BUFFERED_PAYLOAD)
        except BodyTooLarge:
            invocation.pending = oc.response_too_large(runtime_alive=True)
            self.sandbox.changed.notify()
            raise ApiError(
                413,
                "RequestEntityTooLarge",
                f"Exceeded maximum allowed payload size ({protocol.MAX_BUFFERED_PAYLOAD} bytes).",
            ) from None

    async def _streamed(self, exchange: Exchange, invocation: Invocation, content_type: str) -> None:
        await invocation.send_head(content_type, streaming=True)
        size = 0
        async for pieces in exchange.iter_body_pieces():
            batch = sum(map(len, pieces))
            if size + batch > MAX_STREAMED_PAYLOAD:
                # The pieces that still fit go out first, as they would have one by one.
                await invocation.send_data(_fitting(pieces, MAX_STREAMED_PAYLOAD - size))
                invocation.finish(
                    oc.platform_error(
                        "Function.ResponseSizeTooLarge",
                        f"Response payload size exceeded maximum allowed payload size ({MAX_STREAMED_PAYLOAD} bytes).",
                    )
                )
                self.sandbox.changed.notify()
                raise ApiError(
                    413,
                    "RequestEntityTooLarge",
                    f"Exceeded maximum allowed payload size ({MAX_STREAMED_PAYLOAD} bytes).",
                )
            size += batch
            await invocation.send_data(pieces)
        error_type = exchange.trailers.get(protocol.H_ERROR_TYPE)
        if error_type:
            body = decode_error_trailer(error_type, exchange.trailers.get(protocol.H_ERROR_BODY))
            invocation.finish(oc.function_error(body, error_type))
        else:
            invocation.finish(oc.success(b"", content_type))
        self.sandbox.changed.notify()
        await exchange.respond_json(202, ACCEPTED)

    async def _error(self, exchange: Exchange, route: routes.Route) -> None:
        invocation = self._target(exchange, route.request_id, "InvocationErrorResponse")
        body = await self._buffered_body(exchange, invocation)
        body = strip_error_cause(body, exchange.headers.get("content-type"))
        invocation.finish(oc.function_error(body, exchange.headers.get(protocol.H_ERROR_TYPE)))
        self.sandbox.changed.notify()
        await exchange.respond_json(202, ACCEPTED)

    async def _init_error(self, exchange: Exchange, route: routes.Route) -> None:
        sandbox = self.sandbox
        if sandbox.initialized or sandbox.runtime is None:
            raise _transition_refused("Ready" if sandbox.current is None else "Invoke", "InitError")
        body = await exchange.read_body(protocol.MAX_BUFFERED_PAYLOAD)
        sandbox.init_error = (body, exchange.headers.get(protocol.H_ERROR_TYPE))
        sandbox.changed.notify()
        await exchange.respond_json(202, ACCEPTED)

    async def _restore_next(self, exchange: Exchange, route: routes.Route) -> None:
        """SnapStart: the runtime waits here while the snapshot is taken, until a restore."""
        sandbox = self.sandbox
        if not sandbox.config.snapstart:
            # RAPID serves /restore/* only to SnapStart functions.
            await exchange.respond(404, [("Content-Type", "text/plain; charset=utf-8")], b"404 page not found\n")
            return
        if sandbox.init_error is not None:
            raise _transition_refused("InitError", "RestoreReady")
        pid_text = exchange.headers.get(protocol.H_RESTORED_PID) or ""
        forked_pid = int(pid_text) if pid_text.isdigit() and len(pid_text) < 10 else None
        parked = sandbox.snapshot.park(bool(exchange.headers.get(protocol.H_RESTORE_BY_FORK)), forked_pid)
        sandbox.changed.notify()
        if not await parked:
            raise _transition_refused("RestoreReady", "Restoring")
        await exchange.respond(200, [("Content-Type", "application/json")], b"")

    async def _restore_error(self, exchange: Exchange, route: routes.Route) -> None:
        sandbox = self.sandbox
        if not sandbox.config.snapstart:
            await exchange.respond(404, [("Content-Type", "text/plain; charset=utf-8")], b"404 page not found\n")
            return
        if not sandbox.restoring or sandbox.restore_error is not None:
            raise _transition_refused("Ready" if sandbox.current is None else "Invoke", "RestoreError")
        body = await exchange.read_body(protocol.MAX_BUFFERED_PAYLOAD)
        sandbox.restore_error = (body, exchange.headers.get(protocol.H_ERROR_TYPE))
        sandbox.changed.notify()
        await exchange.respond_json(202, ACCEPTED)

    async def _ping(self, exchange: Exchange, route: routes.Route) -> None:
        await exchange.respond(200, [("Content-Type", "text/plain; charset=utf-8")], b"pong")

    # ---- Extensions API -----------------------------------------------------------------

    async def _ext_register(self, exchange: Exchange, route: routes.Route) -> None:
        sandbox = self.sandbox
        body = await exchange.read_body(64 * 1024)
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            raise ApiError(400, "InvalidRequestFormat", "register body is not JSON") from None
        if not isinstance(doc, dict) or "configurationKeys" in doc:
            raise ApiError(400, "InvalidRequestFormat", 'register body must be {"events": [...]}')
        try:
            extension = sandbox.registry.register(exchange.headers.get(H_EXTENSION_NAME), doc.get("events", []))
        except RegistrationRefused as exc:
            raise ApiError(exc.status, exc.error_type, str(exc)) from None
        config = sandbox.config
        answer: dict[str, object] = {
            "functionName": config.function_name,
            "functionVersion": config.function_version,
            "handler": config.handler,
        }
        features = {f.strip() for f in (exchange.headers.get(H_ACCEPT_FEATURE) or "").split(",")}
        if "accountId" in features:
            answer["accountId"] = config.function_arn.split(":")[4]
        sandbox.hub.emit(
            "platform.extension", {"name": extension.name, "state": "Ready", "events": sorted(extension.events)}
        )
        sandbox.changed.notify()
        await exchange.respond_json(200, answer, [(H_EXTENSION_ID, extension.identifier)])

    def _extension(self, exchange: Exchange) -> Extension:
        identifier = exchange.headers.get(H_EXTENSION_ID)
        if not identifier:
            raise ApiError(403, "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header")
        extension = self.sandbox.registry.get(identifier)
        if extension is None:
            raise ApiError(403, "Extension.UnknownExtensionIdentifier", "Unknown extension " + identifier)
        return extension

    async def _ext_next(self, exchange: Exchange, route: routes.Route) -> None:
        extension = self._extension(exchange)
        if extension.error_type:
            raise ApiError(403, "Extension.InvalidExtensionState", "The extension reported an error")
        if extension.queue.empty():
            extension.waiting = True
            self.sandbox.changed.notify()
        event = await extension.queue.get()
        extension.waiting = False
        if not event:  # the environment was reset under this call
            exchange.close_after = True
            raise ApiError(403, "Extension.InvalidExtensionState", "The execution environment was reset")
        await exchange.respond_json(200, event, [("Lambda-Extension-Event-Identifier", str(uuid.uuid4()))])

    async def _ext_init_error(self, exchange: Exchange, route: routes.Route) -> None:
        await self._ext_failed(exchange)

    async def _ext_exit_error(self, exchange: Exchange, route: routes.Route) -> None:
        await self._ext_failed(exchange)

    async def _ext_failed(self, exchange: Exchange) -> None:
        extension = self._extension(exchange)
        error_type = exchange.headers.get(H_EXTENSION_ERROR_TYPE)
        if not error_type:
            raise ApiError(400, "Extension.MissingHeader", f"Missing {H_EXTENSION_ERROR_TYPE} header")
        await exchange.read_body(1024 * 1024)
        extension.error_type = error_type
        self.sandbox.changed.notify()
        await exchange.respond_json(202, ACCEPTED)

    # ---- Telemetry and Logs API ---------------------------------------------------------

    async def _telemetry_subscribe(self, exchange: Exchange, route: routes.Route) -> None:
        extension = self._extension(exchange)
        body = await exchange.read_body(64 * 1024)
        try:
            subscription = telemetry.parse_subscription(body)
        except telemetry.SubscriptionError as exc:
            raise ApiError(400, "ValidationError", str(exc)) from None
        hub = self.sandbox.hub
        hub.subscribe(extension.name, subscription)
        hub.emit(
            "platform.telemetrySubscription",
            {"name": extension.name, "state": "Subscribed", "types": sorted(subscription.types)},
        )
        await exchange.respond(200, [("Content-Type", "text/plain; charset=utf-8")], b"OK")

    async def _logs_subscribe(self, exchange: Exchange, route: routes.Route) -> None:
        # Superseded by the Telemetry API; answered like the classic RIE does.
        await exchange.drain_body()
        await exchange.respond_json(
            202, {"errorMessage": "Logs API is not supported", "errorType": "Logs.NotSupported"}
        )
