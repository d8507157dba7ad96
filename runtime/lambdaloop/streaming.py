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

What goes on the wire (``shared/design/protocols.md`` §1): nothing until the first write,
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
import sys

from . import hooks, protocol
from .errors import MARSHAL_ERROR, ErrorReport, FaultError, classify, make_error_body, report_exception
from .handler import CO_ASYNC_GENERATOR, CO_COROUTINE
from .hooks import Outcome
from .httpstream import HttpResponse, http_prelude
from .logs import log_runtime_error
from .marshal import to_json
from .upload import BROKEN, DONE, OPEN, PENDING, ResponseTooLargeError, StreamBrokenError, StreamUpload

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
    from typing import Any, TypeVar

    from .httpstream import HeadersArg
    from .loop import Runtime

    F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "HttpResponse",
    "ResponseStream",
    "ResponseTooLargeError",
    "StreamBrokenError",
    "send_streaming_response",
    "streaming",
]

# The error type of a stream cut at the limit: RAPID's own for an oversized response.
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
# The error-body trailer is one header line: a deep traceback is cut to keep it sane.
TRAILER_BODY_LIMIT = 64 * 1024
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
        return hook(source, response)  # type: ignore[no-any-return]
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


# -- the runtime side ----------------------------------------------------------------------


def send_streaming_response(
    runtime: Runtime, invocation: protocol.Invocation, stream: object, event: Any = None, context: Any = None
) -> Outcome:
    """Stream ``stream`` as the response to ``invocation`` and post exactly one outcome:
    the complete response, an ``/error`` (failure before the first byte), or a response
    ended by error trailers (failure after it). SystemExit and KeyboardInterrupt are
    reported as Runtime.ExitError the same way, then re-raised. ``event`` and ``context``
    are only for ``hooks.on_error``, called for an exception raised while streaming."""
    request_id = invocation.request_id
    upload = StreamUpload(runtime.connection, runtime.host, runtime.user_agent, request_id, invocation.invocation_id)
    response = ResponseStream(upload)
    report: ErrorReport | None = None
    exiting: BaseException | None = None
    try:
        work = pump(stream, response)
        if work is not None:
            runtime.event_loop().run(work)
    except BaseException as exc:
        report, must_exit = classify(exc, request_id)
        if must_exit:
            exiting = exc
        elif hooks.ON_ERROR and isinstance(exc, Exception) and not isinstance(exc, FaultError):
            hooks.run(hooks.ON_ERROR, exc, event, context)
    if response.limit_error is not None and exiting is None:
        report = _limit_report(response.limit_error, request_id)
    outcome = _conclude(runtime, invocation, response, report, stream)
    if exiting is not None:
        raise exiting
    return outcome


def _conclude(
    runtime: Runtime,
    invocation: protocol.Invocation,
    response: ResponseStream,
    report: ErrorReport | None,
    result: object,
) -> Outcome:
    upload = response.upload
    if report is not None and not upload.started:
        runtime.post_error(invocation, report)  # nothing of the response was sent
        return Outcome(False, error=report.body)
    if report is not None:
        log_runtime_error(runtime.sink, report.body)
    if upload.state == BROKEN:
        return _broken(runtime, invocation, upload)
    if report is None:
        response.close()
    elif upload.state == OPEN:
        # Under the stream's lock: a user thread still inside write() must not interleave
        # its chunk with the terminating chunk and the trailers.
        with response._lock:
            upload.finish(report.error_type, trailer_body(report.body))
    else:
        # The handler closed its stream, then failed: the response went out complete and
        # the error is in the log only (there is no second outcome to post).
        from .logs import runtime_log

        runtime_log(f"RequestId: {invocation.request_id} the handler failed after closing its response stream")
        report = None
    if upload.state == BROKEN:
        return _broken(runtime, invocation, upload)
    # The docs ask to close the connection after a streamed response; /next reopens it.
    runtime.connection.close()
    answer = upload.answer
    if answer is not None:
        judged = protocol.judge_post(answer.status, answer.body, f"streamed /response for {invocation.request_id}")
        if not judged.ok:
            from .logs import runtime_log

            runtime_log(judged.message)
    if report is not None:
        return Outcome(False, error=report.body)
    return Outcome(True, result)


def _broken(runtime: Runtime, invocation: protocol.Invocation, upload: StreamUpload) -> Outcome:
    """The connection failed mid-stream. RAPID may have refused the request and closed
    (its answer is then waiting to be read); otherwise the response is lost, and like a
    failed post that ends the process (awslambdaric's rule) unless it is one of several workers."""
    from .logs import runtime_log

    what = f"streamed /response for {invocation.request_id}"
    answer = upload.answer if upload.answer is not None else upload.read_answer()
    runtime.connection.close()
    failure = upload.failure
    if answer is not None:
        judged = protocol.judge_post(answer.status, answer.body, what)
        runtime_log(judged.message if not judged.ok else f"{what} was cut short: {failure}")
    else:
        runtime_log(f"Failed to post {what}: {failure}")
        if not runtime.concurrent:
            sys.exit(1)
    body = make_error_body(str(failure), type(failure).__name__, [], invocation.request_id)
    return Outcome(False, error=body)


def _limit_report(exc: ResponseTooLargeError, request_id: str) -> ErrorReport:
    report = report_exception(exc, request_id)
    report.body["errorType"] = RESPONSE_TOO_LARGE
    report.error_type = RESPONSE_TOO_LARGE
    return report


def trailer_body(body: dict[str, Any]) -> bytes:
    """The JSON for the Error-Body trailer: the /error body, cut to TRAILER_BODY_LIMIT by
    dropping the outermost stack frames first, then shortening the message."""
    data = to_json(body).encode("utf-8", "backslashreplace")
    if len(data) <= TRAILER_BODY_LIMIT:
        return data
    cut = dict(body)
    trace = list(cut.get("stackTrace") or [])
    while trace and len(data) > TRAILER_BODY_LIMIT:
        trace = trace[len(trace) // 2 + 1 :] if len(trace) > 1 else []
        cut["stackTrace"] = trace
        data = to_json(cut).encode("utf-8", "backslashreplace")
    if len(data) > TRAILER_BODY_LIMIT:
        cut["errorMessage"] = str(cut.get("errorMessage", ""))[: TRAILER_BODY_LIMIT // 4] + " [truncated]"
        data = to_json(cut).encode("utf-8", "backslashreplace")
    return data
