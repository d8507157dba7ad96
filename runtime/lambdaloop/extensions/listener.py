"""The HTTP listener the Telemetry API delivers batches to.

A few dozen lines over ``_socket`` and ``_thread`` instead of ``http.server``: that module
imports ``email``, ``http.client`` and ``socketserver`` (tens of ms), and an extension's
start-up is part of the function's cold start. The request parser is a pure function.

Where to listen: the platform POSTs to ``http://sandbox.localdomain:PORT``. Inside Lambda that
name is in ``/etc/hosts``; elsewhere (the RIE, our emulator) the platform sends to loopback.
So we bind the address ``/etc/hosts`` gives for it, else 127.0.0.1, and never ask DNS (a
resolver that does not answer would stall the extension's init).

No output from here, ever: a listener subscribed to ``extension`` records that logs about
the batches it receives would receive its own lines in the next batch, without end.
"""

from __future__ import annotations

import _socket
import _thread
import contextlib
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

MAX_REQUEST = 4 * 1024 * 1024  # twice the largest maxBytes plus room for the envelope
_RESPONSE_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_RESPONSE_TOO_LARGE = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_RESPONSE_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class BadRequest(Exception):
    def __init__(self, message: str, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class Request:
    __slots__ = ("body", "headers", "method", "path")

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


def parse_request(buffer: bytearray, limit: int = MAX_REQUEST) -> Request | None:
    """Take one complete request off the front of ``buffer``; None if more bytes are needed.
    Content-Length and chunked bodies; anything unframed or oversized is a BadRequest."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > 64 * 1024:
            raise BadRequest("request head larger than 64 KiB", too_large=True)
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(f"not an HTTP/1.1 request line: {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    start = end + 4
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parsed = _dechunk(buffer, start, limit)
        if parsed is None:
            return None
        body, consumed = parsed
    else:
        length_text = headers.get("content-length", "0")
        if not length_text.isdigit():
            raise BadRequest(f"bad Content-Length {length_text!r}")
        length = int(length_text)
        if length > limit:
            raise BadRequest(f"body of {length} bytes is over the {limit}-byte limit", too_large=True)
        if len(buffer) < start + length:
            return None
        body, consumed = bytes(buffer[start : start + length]), start + length
    del buffer[:consumed]
    return Request(parts[0], parts[1], headers, body)


def _dechunk(buffer: bytearray, pos: int, limit: int) -> tuple[bytes, int] | None:
    parts: list[bytes] = []
    size_total = 0
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size_text = bytes(buffer[pos:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadRequest(f"bad chunk size {size_text[:20]!r}") from None
        pos = line_end + 2
        if size == 0:
            # Trailers (none expected) up to an empty line.
            while True:
                line_end = buffer.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                empty = line_end == pos
                pos = line_end + 2
                if empty:
                    return b"".join(parts), pos
        size_total += size
        if size_total > limit:
            raise BadRequest(f"chunked body over the {limit}-byte limit", too_large=True)
        if len(buffer) < pos + size + 2:
            return None
        parts.append(bytes(buffer[pos : pos + size]))
        pos += size + 2


def listen_host(hosts_text: str | None = None) -> str:
    """The address ``sandbox.localdomain`` has in /etc/hosts, else 127.0.0.1."""
    if hosts_text is None:
        try:
            with open("/etc/hosts", encoding="utf-8", errors="replace") as f:
                hosts_text = f.read()
        except OSError:
            hosts_text = ""
    for line in hosts_text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and "sandbox.localdomain" in fields[1:] and ":" not in fields[0]:
            return fields[0]
    return "127.0.0.1"


class Listener:
    """Accepts the platform's connections and hands each request body to ``on_body``, one
    at a time (a lock serialises them, so user callbacks need no locking of their own).
    The answer (200) goes back after ``on_body`` returns: a slow consumer slows delivery
    instead of piling up batches in memory."""

    def __init__(self, on_body: Callable[[bytes], None], host: str | None = None, port: int = 0) -> None:
        self.on_body = on_body
        self.host = host or listen_host()
        self._server = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        self._server.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        self._server.bind((self.host, port))
        self._server.listen(16)
        self.port: int = self._server.getsockname()[1]
        self._lock = _thread.allocate_lock()
        self._closed = False
        self.batches = 0
        self.errors = 0  # batches whose on_body raised
        self.last_batch_at = 0.0  # time.monotonic() of the last delivery

    def start(self) -> None:
        _thread.start_new_thread(self._accept, ())

    def close(self) -> None:
        self._closed = True
        # shutdown() wakes the thread blocked in accept(); close() alone may not.
        with contextlib.suppress(OSError):
            self._server.shutdown(_socket.SHUT_RDWR)
        self._server.close()

    def wait_quiet(self, quiet_s: float, limit_s: float) -> None:
        """Return once no batch has arrived for ``quiet_s`` seconds, or after ``limit_s``:
        at SHUTDOWN the platform may still be flushing its buffer to us."""
        start = time.monotonic()
        stop = start + limit_s
        while True:
            now = time.monotonic()
            since = max(start, self.last_batch_at)
            if now >= stop or now - since >= quiet_s:
                return
            time.sleep(min(0.01, stop - now))

    def _accept(self) -> None:
        while not self._closed:
            try:
                # The C socket's accept (a bare fd): the public wrapper lives in ``socket``,
                # whose import costs ``enum``.
                conn, _addr = self._server._accept()  # type: ignore[attr-defined]
            except OSError:
                return
            _thread.start_new_thread(self._serve, (conn,))

    def _serve(self, fd: int) -> None:
        conn = _socket.socket(fileno=fd)
        buffer = bytearray()
        try:
            while not self._closed:
                try:
                    request = parse_request(buffer)
                except BadRequest as exc:
                    conn.sendall(_RESPONSE_TOO_LARGE if exc.too_large else _RESPONSE_BAD)
                    return
                if request is None:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                    continue
                if request.method in ("POST", "PUT") and request.body:
                    with self._lock:
                        self.batches += 1
                        try:
                            self.on_body(request.body)
                        except Exception:
                            # Counted, not printed (see the module docstring), and still
                            # answered 200: a refused batch is retried, and would fail again.
                            self.errors += 1
                        self.last_batch_at = time.monotonic()
                conn.sendall(_RESPONSE_OK)
        except OSError:
            pass  # the platform hung up; it retries on a new connection if it needs to
        finally:
            conn.close()
