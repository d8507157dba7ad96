"""HTTP/1.1 message parsing and rendering, sans-IO: bytes in, events out.

The emulator's servers and its small clients both sit on this module; it never touches a
socket or a clock, so every framing rule (Content-Length, chunked bodies, trailers, limits)
is unit-tested with plain bytes. It is deliberately strict only where a lax reading would
hide a runtime bug (a bad chunk size, a body longer than announced); it is not a general
purpose HTTP library: no pipelining guarantees beyond "one message after the other", no
100-continue, no obsolete line folding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CRLF = b"\r\n"
_HEAD_END = b"\r\n\r\n"
# A head larger than this is not something a Lambda runtime or invoker sends.
MAX_HEAD = 64 * 1024

REASONS = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    413: "Request Entity Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class HttpError(Exception):
    """The peer sent something that is not HTTP/1.1 as this module reads it."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Headers:
    """Header fields with case-insensitive lookup, keeping the order and spelling received."""

    __slots__ = ("_index", "items")

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self.items: list[tuple[str, str]] = []
        self._index: dict[str, str] = {}
        for name, value in items or ():
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        self.items.append((name, value))
        key = name.lower()
        # Repeated fields combine with ", " (RFC 9110 5.3); Lambda headers are never repeated
        # except "Trailer", which is a list anyway.
        self._index[key] = f"{self._index[key]}, {value}" if key in self._index else value

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._index.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __len__(self) -> int:
        return len(self.items)

    def lower_dict(self) -> dict[str, str]:
        return dict(self._index)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self.items == other.items

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Headers({self.items!r})"


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    target: str
    headers: Headers
    # True when the client asked for the connection to be closed after this exchange.
    close: bool = False

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    reason: str
    headers: Headers
    close: bool = False


@dataclass(frozen=True, slots=True)
class Data:
    data: bytes


@dataclass(frozen=True, slots=True)
class EndOfMessage:
    trailers: Headers = field(default_factory=Headers)


Event = RequestHead | ResponseHead | Data | EndOfMessage


def _parse_fields(lines: list[str]) -> Headers:
    headers = Headers()
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or " " in name:
            raise HttpError(f"malformed header line {line[:100]!r}")
        headers.add(name, value.strip(" \t"))
    return headers


class Parser:
    """Incremental reader of HTTP/1.1 messages, one after the other on one connection.

    ``kind`` is ``"request"`` (a server reading requests) or ``"response"`` (a client
    reading answers). ``feed`` returns the events the new bytes completed; body data is
    handed out as soon as it arrives, which is what lets the emulator forward a streamed
    response chunk by chunk.
    """

    def __init__(self, kind: str) -> None:
        if kind not in ("request", "response"):
            raise ValueError(kind)
        self.kind = kind
        self._buffer = bytearray()
        self._state = "head"  # head | length | chunk_size | chunk_data | chunk_crlf | trailers | until_close | done
        self._remaining = 0
        self._trailer_lines: list[str] = []
        # A response to HEAD or a 1xx/204/304 has no body; the client says which request it sent.
        self.expect_no_body = False

    @property
    def idle(self) -> bool:
        """True between messages, with nothing buffered: a clean place for the peer to close."""
        return self._state == "head" and not self._buffer

    def feed(self, data: bytes) -> list[Event]:
        if data:
            self._buffer += data
        events: list[Event] = []
        while True:
            event = self._step()
            if event is None:
                return events
            events.append(event)

    def feed_eof(self) -> list[Event]:
        """The peer closed. Ends a read-until-close body; anywhere else mid-message is an error."""
        if self._state == "until_close":
            self._state = "head"
            data = bytes(self._buffer)
            self._buffer.clear()
            return [*([Data(data)] if data else []), EndOfMessage()]
        if self.idle:
            return []
        raise HttpError(f"connection closed in the middle of a message (state {self._state})")

    def _step(self) -> Event | None:
        state = self._state
        buffer = self._buffer
        if state == "head":
            end = buffer.find(_HEAD_END)
            if end < 0:
                # Tolerate stray CRLFs between messages (RFC 9112 2.2).
                while buffer[:2] == CRLF:
                    del buffer[:2]
                if len(buffer) > MAX_HEAD:
                    raise HttpError("message head too large", 431)
                return None
            if end > MAX_HEAD:
                raise HttpError("message head too large", 431)
            head = bytes(buffer[:end]).decode("latin-1")
            del buffer[: end + 4]
            return self._head(head.lstrip("\r\n"))
        if state == "length":
            if not self._remaining:
                return self._finish()
            if not buffer:
                return None
            take = min(self._remaining, len(buffer))
            data = bytes(buffer[:take])
            del buffer[:take]
            self._remaining -= take
            return Data(data)
        if state == "chunk_size":
            end = buffer.find(CRLF)
            if end < 0:
                if len(buffer) > 1024:
                    raise HttpError("chunk size line too long")
                return None
            text = bytes(buffer[:end]).split(b";", 1)[0].strip()
            del buffer[: end + 2]
            if not text or any(c not in b"0123456789abcdefABCDEF" for c in text):
                raise HttpError(f"bad chunk size {text[:40]!r}")
            size = int(text, 16)
            if size == 0:
                self._state = "trailers"
            else:
                self._remaining = size
                self._state = "chunk_data"
            return self._step()
        if state == "chunk_data":
            if not buffer:
                return None
            take = min(self._remaining, len(buffer))
            data = bytes(buffer[:take])
            del buffer[:take]
            self._remaining -= take
            if not self._remaining:
                self._state = "chunk_crlf"
            return Data(data)
        if state == "chunk_crlf":
            if len(buffer) < 2:
                return None
            if buffer[:2] != CRLF:
                raise HttpError("chunk data longer than its announced size")
            del buffer[:2]
            self._state = "chunk_size"
            return self._step()
        if state == "trailers":
            end = buffer.find(CRLF)
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise HttpError("trailer section too large", 431)
                return None
            line = bytes(buffer[:end]).decode("latin-1")
            del buffer[: end + 2]
            if line:
                self._trailer_lines.append(line)
                return self._step()
            trailers = _parse_fields(self._trailer_lines)
            self._trailer_lines = []
            return self._finish(trailers)
        if state == "until_close":
            if not buffer:
                return None
            data = bytes(buffer)
            buffer.clear()
            return Data(data)
        raise AssertionError(state)

    def _finish(self, trailers: Headers | None = None) -> EndOfMessage:
        self._state = "head"
        return EndOfMessage(trailers if trailers is not None else Headers())

    def _head(self, head: str) -> Event:
        first, *lines = head.split("\r\n")
        headers = _parse_fields(lines)
        connection = (headers.get("connection") or "").lower()
        if self.kind == "request":
            parts = first.split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                raise HttpError(f"not an HTTP/1.1 request line: {first[:100]!r}")
            method, target, version = parts
            close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
            event: Event = RequestHead(method, target, headers, close)
            no_body = False
        else:
            parts = first.split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise HttpError(f"not an HTTP/1.1 status line: {first[:100]!r}")
            status = int(parts[1])
            event = ResponseHead(status, parts[2] if len(parts) > 2 else "", headers, "close" in connection)
            no_body = self.expect_no_body or status in (204, 304) or 100 <= status < 200
        self._body_framing(headers, no_body)
        return event

    def _body_framing(self, headers: Headers, no_body: bool) -> None:
        if no_body:
            self._state, self._remaining = "length", 0
            return
        encoding = (headers.get("transfer-encoding") or "").lower()
        if encoding:
            if encoding.rsplit(",", 1)[-1].strip() != "chunked":
                raise HttpError(f"unsupported Transfer-Encoding {encoding!r}", 501 if self.kind == "request" else 400)
            self._state = "chunk_size"
            return
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise HttpError(f"bad Content-Length {length!r}")
            self._state, self._remaining = "length", int(length)
            return
        # No framing: a request has no body; a response runs until the server closes.
        if self.kind == "request":
            self._state, self._remaining = "length", 0
        else:
            self._state = "until_close"


def render_head(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [first_line, *(f"{name}: {value}" for name, value in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def status_line(status: int) -> str:
    return f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"


def render_response(status: int, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
    """A whole response with Content-Length framing."""
    return render_head(status_line(status), [*headers, ("Content-Length", str(len(body)))]) + body


def render_request(method: str, target: str, headers: list[tuple[str, str]], body: bytes | None = None) -> bytes:
    if body is None:
        return render_head(f"{method} {target} HTTP/1.1", headers)
    return render_head(f"{method} {target} HTTP/1.1", [*headers, ("Content-Length", str(len(body)))]) + body


def render_chunk(data: bytes) -> bytes:
    # An empty chunk would end the body; callers skip empty writes, this guards the rule.
    if not data:
        return b""
    return b"%x\r\n" % len(data) + data + CRLF


def render_last_chunk(trailers: list[tuple[str, str]] | None = None) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in trailers or ())
    return b"0\r\n" + lines.encode("latin-1") + CRLF
