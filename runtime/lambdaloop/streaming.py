"""Response streaming for Python handlers: generators, an explicit writer, HTTP responses.

Every shape runs on the same bootstrap with no configuration; the loop sends any handler
result that is a generator, an async generator or a ``__lambdaloop_stream__`` object here
(``handler.is_stream``), and a buffered handler next to them is untouched.

    # 1. A generator (or async generator): each bytes/str piece is sent as it is yielded.
    def handler(event, context):
        yield "hello "
        yield b"world"

    # 2. An explicit writer, sync or async.
    from lambdaloop.streaming import streaming

    @streaming(content_type="text/plain")
    async def handler(event, response_stream, context):
        response_stream.write("hello ")
        await asyncio.sleep(1)
        response_stream.write("world")

    # 3. An HTTP response for a Function URL / API Gateway: status and headers once, then the body.
    from lambdaloop.streaming import HttpResponse

    def handler(event, context):
        return HttpResponse(chunks(), status_code=200, headers={"content-type": "text/plain"})

    @streaming
    def handler(event, response_stream, context):
        response_stream.start_http_response(201, {"content-type": "text/plain"}, cookies=["a=1"])
        response_stream.write("created")

The writer's signature is ``(event, response_stream, context)``, the order of Node's
``awslambda.streamifyResponse``: AWS's streaming documentation and examples use it, so a
handler ported from Node reads the same, and the context stays in the place every
Python Lambda library expects to find the last argument.

What goes on the wire (the Runtime API's response streaming): nothing until the first write,
so a failure before it is posted to ``/error``; then one chunked POST, one chunk per write,
sent at once; a failure after the first byte ends the body with the
``Lambda-Runtime-Function-Error-Type`` / ``-Error-Body`` trailers. Writes block while the
Runtime API is not reading: that is the back-pressure that keeps a 200 MB response out of
memory. In an ``async`` handler a write blocks the event loop for that time too, which is
only ever the time the reader needs to catch up.

A sync generator never imports asyncio; async producers run on the runtime's persistent
event loop, the one ``async def`` handlers use.
"""

from __future__ import annotations

import _thread

from . import protocol
from .errors import MARSHAL_ERROR, FaultError
from .handler import CO_ASYNC_GENERATOR, CO_COROUTINE
from .httpstream import http_prelude
from .upload import BROKEN, DONE, OPEN, PENDING, ResponseTooLargeError, StreamBrokenError, StreamUpload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
    from typing import Any, TypeVar

    from .httpstream import HeadersArg

    F = TypeVar("F", bound=Callable[..., Any])
    Body = bytes | str | Iterable[bytes | str] | AsyncIterable[bytes | str] | None

__all__ = [
    "HttpResponse",
    "ResponseStream",
    "ResponseTooLargeError",
    "StreamBrokenError",
    "pump",
    "streaming",
]

_CHUNK_TYPES = (bytes, bytearray, memoryview, str)


class ResponseStream:
    """The write end of one streamed response. Not created by user code: the runtime passes
    it to a ``@streaming`` handler. Safe to use from several threads (writes never interleave)."""

    __slots__ = ("_content_type", "_lock", "_prelude", "limit_error", "upload")

    def __init__(self, upload: StreamUpload, content_type: str = protocol.STREAM_CONTENT_TYPE) -> None:
        self.upload = upload
        self._content_type = content_type
        self._prelude: bytes | None = None
        self._lock = _thread.allocate_lock()
        # Set when a write hit the size limit, even if user code caught the error: the
        # invocation then fails with it whatever the handler did next.
        self.limit_error: ResponseTooLargeError | None = None

    @property
    def content_type(self) -> str:
        return self._content_type

    @property
    def started(self) -> bool:
        """True once the first byte is sent: status, headers and content type are fixed."""
        return self.upload.started

    @property
    def closed(self) -> bool:
        return self.upload.state in (DONE, BROKEN)

    @property
    def bytes_written(self) -> int:
        """Body bytes sent so far (HTTP prelude included), as counted against the limit."""
        return self.upload.body_bytes

    def set_content_type(self, content_type: str) -> None:
        """The response's Content-Type (default ``application/octet-stream``); only before
        the first write."""
        if not isinstance(content_type, str) or not content_type:
            raise TypeError(f"content type must be a non-empty str, not {content_type!r}")
        with self._lock:
            if self.upload.started:
                raise ValueError("the content type cannot change after the first write")
            if self._prelude is not None:
                raise ValueError("an HTTP response's content type goes in its headers, not set_content_type()")
            self._content_type = content_type

    def start_http_response(
        self, status_code: int = 200, headers: HeadersArg = None, cookies: Iterable[str] | None = None
    ) -> None:
        """Make this an HTTP response (Function URL, API Gateway streaming): status, headers
        and cookies, given once before the first write. They are sent with the first write,
        or at close if there is none, so an empty body still carries them."""
        self._arm_prelude(http_prelude(status_code, headers, cookies))

    def _arm_prelude(self, prelude: bytes) -> None:
        with self._lock:
            if self.upload.started:
                raise ValueError("the HTTP status and headers must be given before the first write")
            if self._prelude is not None:
                raise ValueError("the HTTP status and headers were already given")
            self._prelude = prelude
            self._content_type = protocol.HTTP_INTEGRATION_CONTENT_TYPE

    def write(self, data: bytes | bytearray | memoryview | str) -> None:
        """Send ``data`` now (str as UTF-8). ``write(b"")`` sends nothing but the request
        head and HTTP prelude, if not sent yet: it commits the status and headers early.
        Raises StreamBrokenError (an OSError) if the Runtime API connection failed, and
        ResponseTooLargeError, sending nothing, past the 200 MB limit."""
        payload = _as_bytes(data)
        with self._lock:
            upload = self.upload
            try:
                if upload.state == PENDING:
                    upload.open(self._content_type, self._prelude or b"", payload)
                else:
                    upload.write(payload)
            except ResponseTooLargeError as exc:
                self.limit_error = exc
                raise

    def finish_with_error(self, error_type: str, error_body: bytes) -> None:
        """End a started response with the error trailers (``error_body``: the JSON of an
        ``/error`` body): the invoker gets what was sent, then the failure. The runtime calls
        this when a handler fails after its first write; a transport failure is not raised
        (the runtime reads it from the stream's state)."""
        with self._lock:
            if self.upload.state == OPEN:
                self.upload.finish(error_type, error_body)

    def close(self) -> None:
        """End the response now; the client sees its end at once even if the handler goes
        on working. Idempotent. A transport failure here is not raised (there is nothing
        left for the handler to do about it): the runtime logs it."""
        with self._lock:
            upload = self.upload
            try:
                if upload.state == PENDING:
                    upload.open(self._content_type, self._prelude or b"")
                if upload.state == OPEN:
                    upload.finish()
            except StreamBrokenError:
                pass

    def __repr__(self) -> str:
        return f"<ResponseStream {self._content_type} {self.upload.state}, {self.upload.body_bytes} bytes>"


def _as_bytes(data: object) -> bytes | bytearray | memoryview:
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray)):
        return data
    if isinstance(data, memoryview):
        # len() of a memoryview counts items, and the chunk size must count bytes.
        return data.cast("B") if data.c_contiguous else data.tobytes()
    raise TypeError(f"a streamed response is made of bytes or str, not {type(data).__name__}: {data!r:.80}")


class HttpResponse:
    """An HTTP response whose body is streamed: return it from a handler.

        def handler(event, context):
            def rows():
                yield "id,name\\n"
                yield from (f"{i},n{i}\\n" for i in range(1000))
            return HttpResponse(rows(), headers={"content-type": "text/csv"})

    ``body`` is bytes, str, None, or an iterable / async iterable (a generator, an async
    generator) of bytes or str, each piece sent as soon as it is produced.
    """

    __slots__ = ("body", "prelude", "status_code")

    def __init__(
        self,
        body: Body = None,
        status_code: int = 200,
        headers: HeadersArg = None,
        cookies: Iterable[str] | None = None,
    ) -> None:
        # Validated here, in the handler's own call, so a bad status or header is reported
        # with the handler's traceback and through /error.
        self.prelude = http_prelude(status_code, headers, cookies)
        self.status_code = status_code
        self.body = body

    # Tells the runtime (``handler.is_stream``) to stream this value instead of serializing
    # it; the method writes the response into the stream it is given.
    def __lambdaloop_stream__(self, response: ResponseStream) -> Awaitable[None] | None:
        response._arm_prelude(self.prelude)
        return pump(self.body, response) if self.body is not None else None

    def __repr__(self) -> str:
        return f"HttpResponse(status_code={self.status_code}, body={type(self.body).__name__})"


# -- handler shapes ----------------------------------------------------------------------


def streaming(func: F | None = None, /, *, content_type: str | None = None) -> Any:
    """Make ``func(event, response_stream, context)`` a streaming handler; ``async def``
    works too. Use bare (``@streaming``) or with a default content type
    (``@streaming(content_type="text/event-stream")``). The function may also be a
    generator: what it yields is written after what it wrote itself."""
    if func is None:
        return lambda f: streaming(f, content_type=content_type)
    if content_type is not None and (not isinstance(content_type, str) or not content_type):
        raise TypeError(f"content_type must be a non-empty str, not {content_type!r}")
    code = getattr(func, "__code__", None)
    if code is not None and code.co_flags & (CO_COROUTINE | CO_ASYNC_GENERATOR):
        # Pay for asyncio and uvloop now, during init, rather than in the first invocation.
        from . import aio  # noqa: F401

    def handler(event: Any, context: Any) -> _WriterCall:
        return _WriterCall(func, event, context, content_type)

    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        if hasattr(func, name):
            setattr(handler, name, getattr(func, name))
    handler.__wrapped__ = func  # type: ignore[attr-defined]
    return handler


class _WriterCall:
    """A ``@streaming`` handler's invocation, deferred until the runtime has a stream for it."""

    __slots__ = ("content_type", "context", "event", "func")

    def __init__(self, func: Callable[..., Any], event: Any, context: Any, content_type: str | None) -> None:
        self.func = func
        self.event = event
        self.context = context
        self.content_type = content_type

    def __lambdaloop_stream__(self, response: ResponseStream) -> Awaitable[None] | None:
        if self.content_type is not None:
            response.set_content_type(self.content_type)
        return _follow(self.func(self.event, response, self.context), response)


def pump(source: object, response: ResponseStream) -> Awaitable[None] | None:
    """Write everything ``source`` produces into ``response``. Sync sources are written
    now; for async ones a coroutine is returned, for the caller to run on its loop."""
    if isinstance(source, _CHUNK_TYPES):
        response.write(source)
        return None
    kind = type(source)
    hook = getattr(kind, "__lambdaloop_stream__", None)
    if hook is not None:
        return hook(source, response)
    if hasattr(kind, "__aiter__"):
        return _pump_async(source.__aiter__(), response)  # type: ignore[attr-defined]
    if hasattr(kind, "__iter__"):
        _pump_sync(iter(source), response)  # type: ignore[call-overload]
        return None
    raise TypeError(f"cannot stream a {kind.__name__}: expected bytes, str, or an iterable of them")


def _produced(piece: object) -> Any:
    """A piece a producer yielded, checked here so a wrong type is reported as the
    producer's fault (Runtime.MarshalError, like an unserializable return value), not
    with a traceback through the runtime's own frames."""
    if type(piece) is bytes or isinstance(piece, _CHUNK_TYPES):
        return piece
    raise FaultError(
        MARSHAL_ERROR,
        f"Unable to stream response: the handler produced {type(piece).__name__} ({piece!r:.80}); "
        "a streamed response is made of bytes or str",
    )


def _pump_sync(iterator: Iterator[Any], response: ResponseStream) -> None:
    try:
        for piece in iterator:
            response.write(_produced(piece))
    finally:
        # A failed write leaves the generator suspended: close it so its finally blocks run now.
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


async def _pump_async(iterator: AsyncIterator[Any], response: ResponseStream) -> None:
    try:
        async for piece in iterator:
            response.write(_produced(piece))
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def _follow(result: object, response: ResponseStream) -> Awaitable[None] | None:
    """What a writer returned: nothing, a coroutine to run, or more to stream."""
    if result is None:
        return None
    if hasattr(result, "__await__"):
        return _await_then_follow(result, response)
    if type(result).__name__ in ("generator", "async_generator") or hasattr(type(result), "__lambdaloop_stream__"):
        return pump(result, response)
    # Node's runtime ignores a streaming handler's return value with a warning; so do we.
    from .logs import runtime_log

    runtime_log(f"a @streaming handler returned a {type(result).__name__}; the value is ignored")
    return None


async def _await_then_follow(awaitable: Any, response: ResponseStream) -> None:
    more = _follow(await awaitable, response)
    if more is not None:
        await more
