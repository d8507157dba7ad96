"""One streamed ``/response`` on the Runtime API connection: chunked, with trailers.

The head goes out with the first bytes of the body, not before: until then the invocation
can still be failed through ``/error``, which is how a streaming handler that fails before
producing anything is reported. Each write is one chunk, sent at once with a blocking
``sendall``, so a slow reader slows the writer down (back-pressure) instead of making the
runtime hold the response in memory. The bytes themselves come from ``protocol``; this
module only decides when they are sent, counts them against the 200 MB limit and keeps
track of a connection that broke halfway.
"""

from __future__ import annotations

from . import protocol
from .transport import TransportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .transport import Response
    from .typedefs import StreamConnection

# Chunks up to this size are framed into one buffer (one syscall, one packet for a small
# write); larger ones go out as size line, data, CRLF so the data is never copied.
_JOIN_LIMIT = 64 * 1024

PENDING, OPEN, DONE, BROKEN = "pending", "open", "done", "broken"


class StreamBrokenError(ConnectionError):
    """The Runtime API connection failed while the response was being streamed. An OSError,
    so ASGI frameworks (spec 2.4) treat it as the client going away."""


class ResponseTooLargeError(Exception):
    """A write would take the streamed body past the limit; nothing of it was sent."""

    def __init__(self, limit: int, attempted: int) -> None:
        super().__init__(
            f"Response payload size exceeded maximum allowed payload size ({limit} bytes): "
            f"a write would have taken the streamed body to {attempted} bytes"
        )
        self.limit = limit


class StreamUpload:
    """The state of one streamed POST: pending (nothing sent), open, done or broken."""

    __slots__ = (
        "answer", "body_bytes", "connection", "failure", "host", "invocation_id", "limit", "readable", "request_id",
        "state", "user_agent",
    )  # fmt: skip

    def __init__(
        self,
        connection: StreamConnection,
        host: str,
        user_agent: str,
        request_id: str,
        invocation_id: str | None,
        limit: int = protocol.MAX_STREAMED_RESPONSE,
    ) -> None:
        self.connection = connection
        self.host = host
        self.user_agent = user_agent
        self.request_id = request_id
        self.invocation_id = invocation_id
        self.limit = limit
        self.state = PENDING
        self.body_bytes = 0
        self.failure: Exception | None = None
        self.readable = True
        self.answer: Response | None = None

    @property
    def started(self) -> bool:
        """True once any byte of the request is on the wire: /error is no longer possible."""
        return self.state != PENDING

    def _count(self, size: int) -> None:
        total = self.body_bytes + size
        if total > self.limit:
            raise ResponseTooLargeError(self.limit, total)
        self.body_bytes = total

    def _send(self, data: bytes | bytearray | memoryview) -> None:
        try:
            self.connection.send(data)
        except (OSError, TransportError) as exc:
            # TransportError: the connection could not even be (re)opened, so there is no
            # answer to read either.
            self.readable = isinstance(exc, OSError)
            self.state = BROKEN
            self.failure = exc
            raise StreamBrokenError(f"the Runtime API connection broke while streaming the response: {exc}") from exc

    def _check_writable(self) -> None:
        if self.state == BROKEN:
            raise StreamBrokenError(f"the response stream is broken: {self.failure}")
        if self.state == DONE:
            raise ValueError("write to a response stream that is already closed")

    def open(self, content_type: str, *pieces: bytes | bytearray | memoryview) -> None:
        """Send the request head with the first body pieces (the HTTP prelude, the first
        write), small ones framed into the same buffer: one syscall, one packet."""
        self._check_writable()
        if self.state == OPEN:
            raise ValueError("the response stream is already open")
        pieces = tuple(piece for piece in pieces if len(piece))
        self._count(sum(len(piece) for piece in pieces))
        buffer = protocol.streaming_response_head(
            self.host, self.user_agent, self.request_id, content_type, self.invocation_id
        )
        large: list[bytes | bytearray | memoryview] = []
        for piece in pieces:
            if large or len(piece) > _JOIN_LIMIT:
                large.append(piece)
            else:
                buffer += protocol.chunk(piece)
        self._send(buffer)
        self.state = OPEN
        for piece in large:
            self._send_chunk(piece)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send one chunk. Empty data sends nothing (an empty chunk would end the body)."""
        self._check_writable()
        if self.state == PENDING:
            raise ValueError("the response stream is not open")
        size = len(data)
        if not size:
            return
        self._count(size)
        self._send_chunk(data)

    def _send_chunk(self, data: bytes | bytearray | memoryview) -> None:
        size = len(data)
        if size <= _JOIN_LIMIT:
            self._send(protocol.chunk(data))
        else:
            self._send(protocol.chunk_head(size))
            self._send(data)
            self._send(b"\r\n")

    def finish(self, error_type: str | None = None, error_body: bytes | None = None) -> Response | None:
        """End the body (with the error trailers when given) and read the Runtime API's
        answer. Returns None when the connection broke; ``failure`` says why."""
        if self.state != OPEN:
            raise ValueError(f"cannot finish a response stream that is {self.state}")
        try:
            self._send(protocol.stream_end(error_type, error_body))
        except StreamBrokenError:
            return None
        self.state = DONE
        return self.read_answer()

    def read_answer(self) -> Response | None:
        """The Runtime API's answer to the request. Also called after a broken send: RAPID
        may have refused the request (and closed) before we were done writing it."""
        if not self.readable:
            return None
        try:
            self.answer = self.connection.read_response()
        except TransportError as exc:
            self.readable = False
            if self.failure is None:
                self.failure = exc
            self.state = BROKEN
            return None
        return self.answer
