"""HTTP/1.1 message parsing and rendering, sans-IO: bytes in, events out.

The emulator's servers and its small clients both sit on this module; it never touches a
socket or a clock, so every framing rule (Content-Length, chunked bodies, trailers, limits)
is unit-tested with plain bytes. It is deliberately strict only where a lax reading would
hide a runtime bug (a bad chunk size, a body longer than announced); it is not a general
purpose HTTP library: no pipelining guarantees beyond "one message after the other", no
100-continue, no obsolete line folding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CRLF = b"\r\n"
_HEAD_END = b"\r\n\r\n"
# A head larger than this is not something a Lambda runtime or invoker sends.
MAX_HEAD = 64 * 1024
# The parser's buffer always offers at least this much room to a read.
_MIN_ROOM = 16 * 1024
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_SIZE_LINE = re.compile(rb"([0-9a-fA-F]{1,16})\r\n")
_CRLF_SIZE_LINE = re.compile(rb"\r\n([0-9a-fA-F]{1,16})\r\n")

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
    reading answers). Body data is handed out as soon as it arrives, which is what lets the
    emulator forward a streamed response as the runtime sends it.

    Two ways in, both returning the events the new bytes completed:

    - ``feed(data)``: bytes from anywhere (a ``recv``, a test);
    - ``get_buffer()`` then ``buffer_updated(n)``: the caller reads straight into the
      parser's buffer (``asyncio.BufferedProtocol``, ``socket.recv_into``), saving the copy
      into an intermediate bytes object.

    Bytes are parsed in place, by index, in one buffer that is compacted rather than
    trimmed, so a body costs one copy in user space (buffer -> ``Data``). Each chunk of a
    chunked body comes out as its own ``Data`` (in pieces when it spans reads): a runtime's
    writes reach the invoker as the writes they were, never merged.
    """

    def __init__(self, kind: str, initial_buffer: int = 64 * 1024, max_buffer: int = 1024 * 1024) -> None:
        if kind not in ("request", "response"):
            raise ValueError(kind)
        self.kind = kind
        # Received bytes are _buf[_start:_end]; _buf[_end:] is free room for the next read.
        self._buf = bytearray(initial_buffer)
        self._start = 0
        self._end = 0
        # Reads that fill the room grow the buffer (fewer, larger reads under load), up to this.
        self._max_buffer = max(max_buffer, initial_buffer)
        self._filled = False
        self._state = "head"  # head | length | chunk_size | chunk_data | chunk_crlf | trailers | until_close
        self._remaining = 0
        self._trailer_lines: list[str] = []
        # A response to HEAD or a 1xx/204/304 has no body; the client says which request it sent.
        self.expect_no_body = False

    @property
    def idle(self) -> bool:
        """True between messages, with nothing buffered: a clean place for the peer to close."""
        return self._state == "head" and self._start == self._end

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Writable room for the next read; report how much was written with ``buffer_updated``.

        Never empty. Only here is the buffer moved or replaced: while the caller still holds
        the previous view (uvloop and asyncio do, during ``buffer_updated``), it is only
        written into, never resized.
        """
        buf, start, end = self._buf, self._start, self._end
        unread = end - start
        capacity = len(buf)
        if (self._filled and capacity < self._max_buffer) or capacity - unread < _MIN_ROOM:
            # A fresh buffer, not a resize: the old one may still be exported.
            grown = bytearray(max(min(capacity * 2, self._max_buffer), unread + _MIN_ROOM))
            grown[:unread] = buf[start:end]
            self._buf, self._start, self._end = grown, 0, unread
        elif not unread:
            self._start = self._end = 0
        elif capacity - end < _MIN_ROOM:
            # What is left is at most a partial head, size line or trailer: cheap to move.
            buf[:unread] = buf[start:end]
            self._start, self._end = 0, unread
        self._filled = False
        return memoryview(self._buf)[self._end :]

    def buffer_updated(self, nbytes: int) -> list[Event]:
        """``nbytes`` were written at the start of the last ``get_buffer`` view."""
        self._end += nbytes
        self._filled = self._end == len(self._buf)
        return self._parse()

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        with memoryview(data) as view:
            size = view.nbytes
            if not size:
                return self._parse()
            events: list[Event] = []
            offset = 0
            with view.cast("B") as octets:
                while offset < size:
                    room = self.get_buffer()
                    n = min(len(room), size - offset)
                    room[:n] = octets[offset : offset + n]
                    room.release()
                    offset += n
                    events += self.buffer_updated(n)
            return events

    def feed_eof(self) -> list[Event]:
        """The peer closed. Ends a read-until-close body; anywhere else mid-message is an error."""
        if self._state == "until_close":
            # Body bytes are handed out as they arrive: nothing is left to flush.
            self._state = "head"
            return [EndOfMessage()]
        if self.idle:
            return []
        raise HttpError(f"connection closed in the middle of a message (state {self._state})")

    def _parse(self) -> list[Event]:
        buf = self._buf
        end = self._end
        pos = self._start
        events: list[Event] = []
        while True:
            state = self._state
            if state == "chunk_data" or state == "length":
                remaining = self._remaining
                if not remaining:  # only in "length": a body fully read, or none announced
                    events.append(self._finish())
                    continue
                take = min(remaining, end - pos)
                if not take:
                    break
                events.append(self._data(pos, pos + take))
                pos += take
                self._remaining = remaining - take
                if state == "chunk_data" and take == remaining:
                    self._state = "chunk_crlf"
            elif state == "chunk_crlf" or state == "chunk_size":
                # Fast path: the usual size line (hex digits only), with the CRLF that ends the
                # previous chunk's data when there is one, in one match. Anything else (an
                # extension, blanks, an error, a line not all here yet) takes the general path.
                plain = (_CRLF_SIZE_LINE if state == "chunk_crlf" else _SIZE_LINE).match(buf, pos, end)
                if plain is not None:
                    pos = plain.end()
                    self._start_chunk(int(plain[1], 16))
                elif state == "chunk_crlf":
                    if end - pos < 2:
                        break
                    if buf[pos] != 13 or buf[pos + 1] != 10:
                        raise HttpError("chunk data longer than its announced size")
                    pos += 2
                    self._state = "chunk_size"
                else:
                    eol = buf.find(CRLF, pos, end)
                    if eol < 0:
                        if end - pos > 1024:
                            raise HttpError("chunk size line too long")
                        break
                    text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
                    pos = eol + 2
                    # strip() leaves something behind exactly when a non-hex byte is there.
                    if not text or text.strip(_HEX_DIGITS):
                        raise HttpError(f"bad chunk size {text[:40]!r}")
                    self._start_chunk(int(text, 16))
            elif state == "head":
                head_end = buf.find(_HEAD_END, pos, end)
                if head_end < 0:
                    # Tolerate stray CRLFs between messages (RFC 9112 2.2).
                    while end - pos >= 2 and buf[pos] == 13 and buf[pos + 1] == 10:
                        pos += 2
                    if end - pos > MAX_HEAD:
                        raise HttpError("message head too large", 431)
                    break
                if head_end - pos > MAX_HEAD:
                    raise HttpError("message head too large", 431)
                head = buf[pos:head_end].decode("latin-1")
                pos = head_end + 4
                events.append(self._head(head.lstrip("\r\n")))
            elif state == "trailers":
                eol = buf.find(CRLF, pos, end)
                if eol < 0:
                    if end - pos > MAX_HEAD:
                        raise HttpError("trailer section too large", 431)
                    break
                line = buf[pos:eol].decode("latin-1")
                pos = eol + 2
                if line:
                    self._trailer_lines.append(line)
                    continue
                trailers = _parse_fields(self._trailer_lines)
                self._trailer_lines = []
                events.append(self._finish(trailers))
            elif state == "until_close":
                if pos < end:
                    events.append(self._data(pos, end))
                    pos = end
                break
            else:
                raise AssertionError(state)
        self._start = pos
        return events

    def _start_chunk(self, size: int) -> None:
        if size:
            self._remaining = size
            self._state = "chunk_data"
        else:  # the last chunk
            self._state = "trailers"

    def _data(self, start: int, stop: int) -> Data:
        # The one copy of body bytes: the buffer is reused, the event outlives it.
        with memoryview(self._buf) as view:
            return Data(view[start:stop].tobytes())

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
    return chunk_head(len(data)) + data + CRLF


def chunk_head(size: int) -> bytes:
    """The size line of a chunk of ``size`` (> 0) bytes. Writers that can send several
    buffers at once send this, the data and CRLF without joining them (no copy of the data)."""
    return b"%x\r\n" % size


def render_last_chunk(trailers: list[tuple[str, str]] | None = None) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in trailers or ())
    return b"0\r\n" + lines.encode("latin-1") + CRLF
