"""A small synchronous client for the invoke API (ours or the real RIE's).

Built on the same sans-IO parser as the servers, so it sees HTTP trailers (http.client
drops them) and hands out streamed chunks as they arrive. Used by the CLI, the pytest
plugin and the tests.
"""

from __future__ import annotations

import base64
import socket
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from lambdaloop.emulator import http, routes

DEFAULT_TIMEOUT = 600.0


@dataclass(slots=True)
class InvokeResult:
    status: int
    headers: http.Headers
    body: bytes
    trailers: http.Headers = field(default_factory=http.Headers)

    @property
    def function_error(self) -> str | None:
        """The error type when the invoke failed, from whichever signal is there: a trailer
        (streaming endpoint), ``X-Amz-Function-Error`` (ours), or a non-200 status (RIE)."""
        trailer = self.trailers.get("lambda-runtime-function-error-type")
        if trailer:
            return trailer
        if self.headers.get("x-amz-function-error") or self.status != 200:
            return self.headers.get("x-amz-function-error") or f"HTTP {self.status}"
        return None

    @property
    def error_body(self) -> bytes | None:
        encoded = self.trailers.get("lambda-runtime-function-error-body")
        return base64.b64decode(encoded) if encoded else None


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port)


def _invoke_headers(address: str, extra: dict[str, str] | None, content_type: str) -> list[tuple[str, str]]:
    return [("Host", address), ("Content-Type", content_type), *(extra or {}).items()]


class StreamingInvoke:
    """An open streaming invoke: iterate ``chunks()``; afterwards ``result`` holds the head,
    the trailers and the whole body."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._parser = http.Parser("response")
        self._pending: deque[http.Event] = deque()
        self.result = InvokeResult(0, http.Headers(), b"")
        self._parts: list[bytes] = []
        self._done = False
        self._read_head()

    def _events(self) -> Iterator[http.Event]:
        parser = self._parser
        while True:
            while self._pending:
                yield self._pending.popleft()
            # Straight into the parser's buffer: no bytes object per recv, no copy out of it.
            room = parser.get_buffer()
            try:
                received = self._sock.recv_into(room)
            finally:
                room.release()
            self._pending.extend(parser.buffer_updated(received) if received else parser.feed_eof())
            if not received and not self._pending:
                raise ConnectionError("the invoke API closed the connection before the end of the answer")

    def _read_head(self) -> None:
        for event in self._events():
            if isinstance(event, http.ResponseHead):
                self.result.status = event.status
                self.result.headers = event.headers
                return

    def chunks(self) -> Iterator[bytes]:
        if self._done:
            return
        try:
            for event in self._events():
                if isinstance(event, http.Data):
                    self._parts.append(event.data)
                    yield event.data
                elif isinstance(event, http.EndOfMessage):
                    self.result.trailers = event.trailers
                    break
        finally:
            self._done = True
            self.result.body = b"".join(self._parts)
            self._sock.close()

    def close(self) -> None:
        self._sock.close()


def open_stream(
    address: str,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    content_type: str = "application/json",
) -> StreamingInvoke:
    host, port = _split(address)
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.sendall(http.render_request("POST", path, _invoke_headers(address, headers, content_type), body))
        return StreamingInvoke(sock)
    except BaseException:
        sock.close()
        raise


def invoke(
    address: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    path: str = routes.INVOKE_PATH,
) -> InvokeResult:
    """One buffered invoke; the whole answer."""
    stream = open_stream(address, path, body, headers, timeout)
    for _ in stream.chunks():
        pass
    return stream.result


def invoke_stream(
    address: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT
) -> StreamingInvoke:
    return open_stream(address, routes.STREAM_INVOKE_PATH, body, headers, timeout)
