"""Serve an ASGI application (Starlette, FastAPI, ...) from a streaming Lambda function.

    # app.py, handler "app.handler"; Function URL with InvokeMode RESPONSE_STREAM
    from fastapi import FastAPI
    from lambdaloop.asgi import handler as asgi_handler

    app = FastAPI()
    handler = asgi_handler(app)

Every response goes out through the HTTP prelude (status, headers, cookies) and is
streamed as the app sends it: ``StreamingResponse`` bodies and Server-Sent Events reach
the client piece by piece; ordinary (buffered) responses arrive as one piece, so a whole
app is served. The app runs on the runtime's persistent event loop, so clients created at
startup (``httpx.AsyncClient``, database pools) survive between invocations, and lifespan
startup runs once per process, at the first invocation; shutdown runs on SIGTERM.

Unlike Mangum, nothing here calls ``asyncio.run`` or ``run_until_complete`` per request,
and lifespan does not run per invocation.

ASGI details: spec version 2.4, so a write to a broken connection raises OSError (what
Starlette turns into ClientDisconnect) and ``receive()`` reports ``http.disconnect`` only
once the response is complete. A response is ended when the app sends its last body
message, so background tasks that run after it do not hold the client.
"""

from __future__ import annotations

import asyncio
import sys

# aio: asyncio and uvloop are paid for at init, when the app module imports this, not
# at the first request.
from . import aio, hooks  # noqa: F401
from .httpevents import HttpRequest, UnsupportedEvent, parse_http_event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping
    from typing import Any

    from .streaming import ResponseStream

    Message = MutableMapping[str, Any]
    Receive = Callable[[], Awaitable[Message]]
    Send = Callable[[Message], Awaitable[None]]
    App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

__all__ = ["UnsupportedEvent", "handler"]

_ASGI = {"version": "3.0", "spec_version": "2.4"}
# How long SIGTERM waits for the app's lifespan shutdown (the platform gives 500 ms in all).
SHUTDOWN_TIMEOUT = 0.4


def handler(app: App, lifespan: str = "auto", streaming: bool = True) -> Callable[[Any, Any], Any]:
    """A Lambda handler that serves ``app``. ``lifespan``: "auto" (run it if the app
    supports it), "on" (the app must support it) or "off". ``streaming=False`` answers with
    the classic proxy response instead (``statusCode``, ``headers``, ``body``...), for
    integrations that do not stream: API Gateway REST and HTTP APIs, Function URLs in
    BUFFERED mode, ALB."""
    if lifespan not in ("auto", "on", "off"):
        raise ValueError(f'lifespan must be "auto", "on" or "off", not {lifespan!r}')
    adapter = _Adapter(app, lifespan)

    def lambda_handler(event: Any, context: Any) -> Any:
        # Parsed here, in the handler's call: an event that is not an HTTP request fails the
        # invocation through /error with a message saying what arrived.
        invocation = _AsgiInvocation(adapter, parse_http_event(event), event, context)
        if streaming:
            return invocation
        return adapter.serve_buffered(invocation)  # a coroutine: the loop awaits it

    lambda_handler.app = app  # type: ignore[attr-defined]
    return lambda_handler


class _AsgiInvocation:
    __slots__ = ("adapter", "context", "event", "request")

    def __init__(self, adapter: _Adapter, request: HttpRequest, event: Any, context: Any) -> None:
        self.adapter = adapter
        self.request = request
        self.event = event
        self.context = context

    # Streamed by the runtime (loop.is_stream); the coroutine runs on its persistent loop.
    def __lambdaloop_stream__(self, response: ResponseStream) -> Awaitable[None]:
        return self.adapter.serve(self, response)


class _Adapter:
    def __init__(self, app: App, lifespan: str) -> None:
        self.app = app
        self.lifespan = _Lifespan(app) if lifespan != "off" else None
        self.require_lifespan = lifespan == "on"
        self.state: dict[str, Any] = {}

    async def serve(self, invocation: _AsgiInvocation, response: ResponseStream) -> None:
        if self.lifespan is not None:
            await self.lifespan.startup(self.state, self.require_lifespan)
        request = invocation.request
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.scheme,
            "path": request.path,
            "raw_path": request.raw_path.encode("utf-8"),
            "query_string": request.query_string,
            "root_path": "",
            "headers": request.headers,
            "client": request.client,
            "server": request.server,
            # Each request gets a shallow copy of what lifespan startup stored (ASGI "state").
            "state": dict(self.state),
            "aws.event": invocation.event,
            "aws.context": invocation.context,
        }
        exchange = _Exchange(request.body, response)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        finally:
            exchange.disconnected.set()
        if not exchange.started:
            raise RuntimeError("the ASGI app returned without sending a response (no http.response.start)")
        response.close()  # an app that never sent more_body=False still ends its response

    async def serve_buffered(self, invocation: _AsgiInvocation) -> dict[str, Any]:
        collected = _CollectedResponse()
        await self.serve(invocation, collected)  # type: ignore[arg-type]
        return collected.proxy_response(v2=invocation.event.get("version") == "2.0")


class _CollectedResponse:
    """Stands in for the response stream when the answer is one proxy response: keeps the
    status, headers and body the app sends."""

    def __init__(self) -> None:
        self.status = 200
        self.headers: list[tuple[bytes, bytes]] = []
        self.parts: list[bytes] = []
        self.closed = False

    def start_http_response(self, status: int, headers: Any) -> None:
        self.status = status
        self.headers = [(bytes(name), bytes(value)) for name, value in headers]

    def write(self, data: bytes) -> None:
        self.parts.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def proxy_response(self, v2: bool) -> dict[str, Any]:
        body = b"".join(self.parts)
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        cookies: list[str] = []
        for raw_name, raw_value in self.headers:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            if name == "set-cookie":
                cookies.append(value)
                continue
            single[name] = f"{single[name]}, {value}" if name in single else value
            multi.setdefault(name, []).append(value)
        text = _as_text(body, single.get("content-type", ""))
        answer: dict[str, Any] = {"statusCode": self.status}
        if v2:  # payload 2.0: cookies apart, repeated headers joined
            answer.update(headers=single, cookies=cookies)
        else:  # REST / payload 1.0: every value kept, cookies among them
            if cookies:
                multi["set-cookie"] = cookies
            answer.update(headers={name: values[-1] for name, values in multi.items()}, multiValueHeaders=multi)
        if text is None:
            import base64

            answer.update(body=base64.b64encode(body).decode("ascii"), isBase64Encoded=True)
        else:
            answer.update(body=text, isBase64Encoded=False)
        return answer


_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")


def _as_text(body: bytes, content_type: str) -> str | None:
    """The body as text when it is declared textual and is UTF-8; otherwise None (base64)."""
    if body and not any(marker in content_type for marker in _TEXT_TYPES):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _Exchange:
    """One request's ``receive`` and ``send``."""

    __slots__ = ("body", "disconnected", "request_sent", "response", "started")

    def __init__(self, body: bytes, response: ResponseStream) -> None:
        self.body = body
        self.response = response
        self.request_sent = False
        self.started = False
        self.disconnected = asyncio.Event()

    async def receive(self) -> Message:
        if not self.request_sent:
            self.request_sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        # Apps (and Starlette before spec 2.4) listen for a disconnect while they stream:
        # there is none until the response is over.
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("http.response.start sent twice")
            self.started = True
            self.response.start_http_response(int(message["status"]), message.get("headers") or [])
        elif kind == "http.response.body":
            if not self.started:
                raise RuntimeError("http.response.body sent before http.response.start")
            if self.response.closed:
                return  # after the last body message: nothing more can go out
            # write(b"") commits the status and headers without a body byte.
            self.response.write(message.get("body") or b"")
            if not message.get("more_body", False):
                self.response.close()
                self.disconnected.set()
        # Anything else (trailers, pathsend, ...) is an extension this server does not
        # advertise in the scope, so a conforming app does not send it.


class _Lifespan:
    """The app's lifespan protocol, started once and kept running on the persistent loop."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.task: asyncio.Task[None] | None = None
        self.inbox: asyncio.Queue[Message] | None = None
        self.started: asyncio.Future[None] | None = None
        self.stopped: asyncio.Future[None] | None = None
        self.supported = True

    async def startup(self, state: dict[str, Any], required: bool) -> None:
        if self.started is None:
            loop = asyncio.get_running_loop()
            self.inbox = asyncio.Queue()
            self.started, self.stopped = loop.create_future(), loop.create_future()
            scope = {"type": "lifespan", "asgi": _ASGI, "state": state}
            self.task = loop.create_task(self._run(scope, required))
            await self.inbox.put({"type": "lifespan.startup"})
        # A failed startup fails every invocation with the same error, as a failed init would.
        await asyncio.shield(self.started)

    async def _run(self, scope: dict[str, Any], required: bool) -> None:
        assert self.started is not None and self.stopped is not None
        try:
            await self.app(scope, self._receive, self._send)
        except BaseException as exc:
            if not self.started.done():
                if required:
                    self.started.set_exception(RuntimeError(f"ASGI lifespan startup failed: {exc!r}"))
                else:
                    # "auto": an app that raises on the lifespan scope does not support it.
                    self.supported = False
                    self.started.set_result(None)
            elif not self.stopped.done():
                self.stopped.set_exception(exc)
            if isinstance(exc, (SystemExit, KeyboardInterrupt)):
                raise
        finally:
            for future in (self.started, self.stopped):
                if not future.done():
                    future.set_result(None)

    async def _receive(self) -> Message:
        assert self.inbox is not None
        return await self.inbox.get()

    async def _send(self, message: Message) -> None:
        assert self.started is not None and self.stopped is not None
        kind = message["type"]
        if kind == "lifespan.startup.complete" and not self.started.done():
            self.started.set_result(None)
            hooks.on_shutdown(self.shutdown_now)
        elif kind == "lifespan.startup.failed" and not self.started.done():
            self.started.set_exception(RuntimeError(f"ASGI lifespan startup failed: {message.get('message', '')}"))
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed") and not self.stopped.done():
            self.stopped.set_result(None)

    def shutdown_now(self) -> None:
        """SIGTERM (``hooks.on_shutdown``): run the app's shutdown on its loop, briefly. A
        signal that lands while the loop is serving an invocation cannot re-enter it."""
        if self.task is None or self.task.done() or self.inbox is None or self.stopped is None:
            return
        loop = self.task.get_loop()
        if loop.is_running() or loop.is_closed():
            return
        self.inbox.put_nowait({"type": "lifespan.shutdown"})
        try:
            loop.run_until_complete(asyncio.wait_for(asyncio.shield(self.stopped), SHUTDOWN_TIMEOUT))
        except Exception as exc:
            sys.stderr.write(f"lambdaloop.asgi: lifespan shutdown did not complete: {exc!r}\n")
