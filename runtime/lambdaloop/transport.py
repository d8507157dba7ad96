"""One persistent HTTP/1.1 connection to the Runtime API, on a raw socket.

Chosen by measurement (BENCHMARKS.md, "transport"): a hand-written client over ``_socket``
costs a fraction of http.client or httpx per request and imports almost nothing, which is
what the cold start and the per-invocation overhead both need. It knows HTTP, not Lambda:
the caller gives it whole request bytes (built by ``protocol``) and gets status, headers
and body back.

``_socket`` rather than ``socket``: the public module pulls in ``enum``, ``selectors`` and
friends at import (a few ms of cold start) for wrappers this client does not use.
"""

from __future__ import annotations

import _socket

_CRLF = b"\r\n"
_HEAD_END = b"\r\n\r\n"
_RECV_SIZE = 65536
# Bounds on what the peer announces, checked before anything is allocated or read. No Lambda
# payload comes near them (events are at most 6 MB, streamed responses 200 MB go the other way);
# they exist so that a broken or hostile peer cannot make the runtime allocate without limit.
MAX_HEAD = 1 << 20
MAX_BODY = 256 << 20
MAX_CHUNK_LINE = 4096
_HEXDIGITS = b"0123456789abcdefABCDEF"


class TransportError(Exception):
    """The Runtime API could not be reached, or answered something that is not HTTP/1.1."""


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as AWS_LAMBDA_RUNTIME_API gives it (no scheme)."""
    address = address.strip()
    if address.startswith("http://"):
        address = address[len("http://") :]
    address = address.rstrip("/")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise TransportError(f"AWS_LAMBDA_RUNTIME_API is not host:port: {address!r}")
    return host.strip("[]"), int(port)


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Connection:
    """A keep-alive connection, opened on first use and reopened once if the peer closed it."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.host, self.port = split_address(address)
        self._sock: _socket.socket | None = None
        self._buffer = bytearray()

    def _connect(self) -> _socket.socket:
        last_error: OSError | None = None
        # A str host makes getaddrinfo import encodings.idna (and with it re, enum and
        # unicodedata: 3-5 ms of cold start); ASCII bytes skip all of that.
        host = self.host.encode("ascii") if self.host.isascii() else self.host
        for family, type_, proto, _name, sockaddr in _socket.getaddrinfo(host, self.port, 0, _socket.SOCK_STREAM):
            sock = _socket.socket(family, type_, proto)
            try:
                # No client timeout: the process is frozen inside /next between invocations.
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                last_error = exc
                continue
            self._buffer.clear()
            return sock
        raise TransportError(f"cannot connect to the Runtime API at {self.address}: {last_error}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer.clear()

    def request(self, data: bytes, body: bytes = b"") -> Response:
        """Send one whole request (``data``, then ``body`` if given: a large body is sent as
        it is rather than copied behind its head) and read the answer. A reused connection
        that turns out to be closed by the peer is reopened and the request sent again, once:
        the platform may close an idle keep-alive connection, and the request never arrived."""
        retry = self._sock is not None
        while True:
            try:
                return self._exchange(data, body)
            except TransportError:
                self.close()  # a malformed answer: where the next one starts is unknown
                raise
            except (OSError, _PeerClosed) as exc:
                self.close()
                if not retry:
                    raise TransportError(f"Runtime API at {self.address}: {exc}") from exc
                retry = False

    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Write raw bytes on the open connection (streaming uploads)."""
        if self._sock is None:
            self._sock = self._connect()
        self._sock.sendall(data)

    def read_response(self) -> Response:
        """Read one answer on the open connection (after ``send``)."""
        try:
            return self._read_response()
        except TransportError:
            self.close()
            raise
        except (OSError, _PeerClosed) as exc:
            self.close()
            raise TransportError(f"Runtime API at {self.address}: {exc}") from exc

    def _exchange(self, data: bytes, body: bytes = b"") -> Response:
        if self._sock is None:
            self._sock = self._connect()
        self._sock.sendall(data)
        if body:
            self._sock.sendall(body)
        return self._read_response()

    def _fill(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(_RECV_SIZE)
        if not chunk:
            raise _PeerClosed("the Runtime API closed the connection")
        self._buffer += chunk

    def _read_response(self) -> Response:
        buffer = self._buffer
        while True:
            end = buffer.find(_HEAD_END)
            if end >= 0:
                break
            if len(buffer) > MAX_HEAD:
                raise TransportError(f"response head larger than {MAX_HEAD} bytes")
            self._fill()
        status, headers = parse_head(buffer[:end])
        del buffer[: end + 4]
        framing, length = body_framing(status, headers)
        if framing == CHUNKED:
            body = self._read_chunked()
        elif framing == LENGTH:
            body = self._read_exact(length)
        elif framing == UNTIL_CLOSE:
            body = self._read_to_close()
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def _read_exact(self, length: int) -> bytes:
        buffer = self._buffer
        if len(buffer) >= length:
            body = bytes(buffer[:length])
            del buffer[:length]
            return body
        # Large events: receive straight into one preallocated buffer (its size checked against
        # MAX_BODY by the caller), no repeated copies.
        out = bytearray(length)
        have = len(buffer)
        out[:have] = buffer
        buffer.clear()
        view = memoryview(out)
        assert self._sock is not None
        while have < length:
            got = self._sock.recv_into(view[have:])
            if not got:
                raise _PeerClosed(f"the Runtime API closed the connection after {have} of {length} body bytes")
            have += got
        return bytes(out)

    def _read_line(self, limit: int) -> bytes:
        buffer = self._buffer
        while True:
            end = buffer.find(_CRLF)
            if end >= 0:
                if end > limit:
                    break
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                return line
            if len(buffer) > limit:
                break
            self._fill()
        raise TransportError(f"a line of the chunked body is longer than {limit} bytes")

    def _expect_crlf(self) -> None:
        while len(self._buffer) < 2:
            self._fill()
        if self._buffer[:2] != _CRLF:
            raise TransportError("chunk data not followed by CRLF")
        del self._buffer[:2]

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            size = chunk_size(self._read_line(MAX_CHUNK_LINE))
            if size == 0:
                trailer_bytes = 0
                while line := self._read_line(MAX_CHUNK_LINE):  # trailers, ignored
                    trailer_bytes += len(line)
                    if trailer_bytes > MAX_HEAD:
                        raise TransportError(f"trailers larger than {MAX_HEAD} bytes")
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise TransportError(f"chunked body larger than {MAX_BODY} bytes")
            parts.append(self._read_exact(size))
            self._expect_crlf()

    def _read_to_close(self) -> bytes:
        assert self._sock is not None
        while True:
            chunk = self._sock.recv(_RECV_SIZE)
            if not chunk:
                break
            self._buffer += chunk
            if len(self._buffer) > MAX_BODY:
                raise TransportError(f"body larger than {MAX_BODY} bytes")
        body = bytes(self._buffer)
        self.close()
        return body


NO_BODY, LENGTH, CHUNKED, UNTIL_CLOSE = "none", "length", "chunked", "until-close"


def parse_head(head: bytes | bytearray) -> tuple[int, dict[str, str]]:
    """Status and headers (names lower-cased, values stripped, first value wins) of an answer's
    head, without its final CRLF CRLF. Shared by the blocking and the asyncio connections."""
    # Header values reach the handler (tenant id, client context) and go back to the platform
    # (the request id in a path, the invocation id in a header): decoded as the UTF-8 the
    # platform sends, and without loss when it is not (surrogateescape), so the exact bytes
    # can be sent back.
    status_line, *header_lines = head.decode("utf-8", "surrogateescape").split("\r\n")
    parts = status_line.split(" ", 2)
    code = parts[1] if len(parts) > 1 else ""
    # Three ASCII digits: str.isdigit() alone would accept "²", which int() then refuses.
    if not parts[0].startswith("HTTP/1.") or len(code) != 3 or not code.isascii() or not code.isdigit():
        raise TransportError(f"not an HTTP/1.1 status line: {status_line[:200]!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, sep, value = line.partition(":")
        # HTTP/1.1 allows no space before the colon, so the name needs no strip (this loop
        # runs for every header of every answer: it is on the hot path).
        if sep:
            key = name.lower()
            # First value wins, as awslambdaric's C++ client does.
            if key not in headers:
                headers[key] = value.strip()
    return int(code), headers


def body_framing(status: int, headers: dict[str, str]) -> tuple[str, int]:
    """How the body of this answer ends: ``(CHUNKED, 0)``, ``(LENGTH, n)``, ``(UNTIL_CLOSE, 0)``
    or ``(NO_BODY, 0)``. RFC 9112 6.3: chunked is read as chunked only when it is the final
    transfer coding (Content-Length is then ignored); any other coding runs to the close."""
    transfer_coding = headers.get("transfer-encoding")
    if transfer_coding is not None:
        if transfer_coding.rpartition(",")[2].strip().lower() == "chunked":
            return CHUNKED, 0
        return UNTIL_CLOSE, 0
    if "content-length" in headers:
        return LENGTH, _content_length(headers["content-length"])
    if status in (204, 304) or 100 <= status < 200:
        return NO_BODY, 0
    return UNTIL_CLOSE, 0


def _content_length(text: str) -> int:
    # 1*DIGIT (RFC 9110 8.6), bounded before anything is allocated for it.
    if not text.isdigit() or not text.isascii():  # "" is not digits either
        raise TransportError(f"bad Content-Length {text[:40]!r}")
    length = int(text) if len(text) <= 12 else MAX_BODY + 1
    if length > MAX_BODY:
        raise TransportError(f"Content-Length {text[:40]} is larger than {MAX_BODY} bytes")
    return length


def chunk_size(line: bytes) -> int:
    """The size on a chunk's size line."""
    # chunk-size = 1*HEXDIG, then optional extensions after ";" (RFC 9112 7.1): "-1", "0x10",
    # " 1" and "" are malformed. int(..., 16) alone would accept all of those but the last.
    size_text = line.split(b";", 1)[0].rstrip(b" \t")
    if not size_text or size_text.strip(_HEXDIGITS) or len(size_text) > 16:
        raise TransportError(f"bad chunk size {line[:40]!r}")
    return int(size_text, 16)


class _PeerClosed(Exception):
    pass
