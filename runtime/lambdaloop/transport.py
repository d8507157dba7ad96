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
        that turns out to be closed by the peer is reopened and the request sent again, once."""
        reused = self._sock is not None
        try:
            return self._exchange(data, body)
        except TransportError:
            self.close()  # a malformed answer: where the next one starts is unknown
            raise
        except (OSError, _PeerClosed) as exc:
            self.close()
            if not reused:
                raise TransportError(f"Runtime API at {self.address}: {exc}") from exc
        try:
            return self._exchange(data, body)
        except TransportError:
            self.close()
            raise
        except (OSError, _PeerClosed) as exc:
            self.close()
            raise TransportError(f"Runtime API at {self.address}: {exc}") from exc

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
            if len(buffer) > 1 << 20:
                raise TransportError("response head larger than 1 MiB")
            self._fill()
        try:
            # Header values reach the handler (tenant id, client context): the platform
            # sends UTF-8, and awslambdaric's C++ client hands them over as UTF-8 too.
            head = buffer[:end].decode("utf-8")
        except UnicodeDecodeError:
            head = buffer[:end].decode("latin-1")
        del buffer[: end + 4]
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise TransportError(f"not an HTTP/1.1 status line: {status_line[:200]!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            # HTTP/1.1 allows no space before the colon, so the name needs no strip (this
            # loop runs for every header of every answer: it is on the hot path).
            if sep:
                key = name.lower()
                # First value wins, as awslambdaric's C++ client does.
                if key not in headers:
                    headers[key] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._read_chunked()
        elif "content-length" in headers:
            length_text = headers["content-length"]
            if not length_text.isdigit():
                raise TransportError(f"bad Content-Length {length_text!r}")
            body = self._read_exact(int(length_text))
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = self._read_to_close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    def _read_exact(self, length: int) -> bytes:
        buffer = self._buffer
        if len(buffer) >= length:
            body = bytes(buffer[:length])
            del buffer[:length]
            return body
        # Large events: receive straight into one preallocated buffer, no repeated copies.
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

    def _read_line(self) -> bytes:
        buffer = self._buffer
        while True:
            end = buffer.find(_CRLF)
            if end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                return line
            self._fill()

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_text = self._read_line().split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise TransportError(f"bad chunk size {size_text[:40]!r}") from None
            if size == 0:
                while self._read_line():  # trailers, ignored
                    pass
                return b"".join(parts)
            parts.append(self._read_exact(size))
            self._read_line()

    def _read_to_close(self) -> bytes:
        assert self._sock is not None
        while True:
            chunk = self._sock.recv(_RECV_SIZE)
            if not chunk:
                break
            self._buffer += chunk
        body = bytes(self._buffer)
        self.close()
        return body


class _PeerClosed(Exception):
    pass
