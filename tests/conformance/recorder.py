"""A recording fake Runtime API on raw sockets, for the differential conformance tests.

It serves a scripted list of ``/next`` answers, records every request byte-exactly (request
line, header lines in order with their original case, body), answers every POST with
``202 {"status":"OK"}``, and once the script is used up holds the next ``/next`` open until
the test closes the recorder: a runtime that reached that point is alive and idle.

Threads, not asyncio: each connection is read by one thread, so the order of requests on a
connection is the order they were sent, and the recorder does not depend on an event loop
the code under test might also use.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

API_PREFIX = "/2018-06-01/runtime"
NEXT_PATH = f"{API_PREFIX}/invocation/next"
# lambdaloop registers an internal extension by default (extensions/internal.py); the recorder
# answers the Extensions API as the platform does, so that traffic is recorded, not failed.
EXTENSION_PREFIX = "/2020-01-01/extension"
EXTENSION_ID = "ext-0000-conformance"
# A deadline far in the future (2100-01-01), fixed so that runs are reproducible.
FAR_DEADLINE_MS = "4102444800000"
_ACCEPTED_BODY = b'{"status":"OK"}'
_READ_SIZE = 1 << 16


@dataclass(frozen=True)
class NextAnswer:
    """One scripted answer to ``GET /next``. ``None`` leaves a header out entirely."""

    request_id: str | None
    body: bytes = b"{}"
    content_type: str | None = "application/json"
    deadline_ms: str | None = FAR_DEADLINE_MS
    function_arn: str | None = "arn:aws:lambda:us-east-1:123456789012:function:conformance"
    trace_id: str | None = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    client_context: str | None = None
    cognito_identity: str | None = None
    tenant_id: str | None = None
    invocation_id: str | None = None
    status: int = 200

    def header_lines(self) -> list[tuple[str, str]]:
        pairs = [
            ("Lambda-Runtime-Aws-Request-Id", self.request_id),
            ("Lambda-Runtime-Deadline-Ms", self.deadline_ms),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn),
            ("Lambda-Runtime-Trace-Id", self.trace_id),
            ("Lambda-Runtime-Client-Context", self.client_context),
            ("Lambda-Runtime-Cognito-Identity", self.cognito_identity),
            ("Lambda-Runtime-Aws-Tenant-Id", self.tenant_id),
            ("Lambda-Runtime-Invocation-Id", self.invocation_id),
            ("Content-Type", self.content_type),
        ]
        return [(name, value) for name, value in pairs if value is not None]

    def to_bytes(self) -> bytes:
        head = [f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Status')}".encode("ascii")]
        for name, value in self.header_lines():
            # Real Lambda sends header values as UTF-8 bytes (client context can hold any text).
            head.append(name.encode("ascii") + b": " + value.encode("utf-8"))
        head.append(b"Content-Length: " + str(len(self.body)).encode("ascii"))
        return b"\r\n".join(head) + b"\r\n\r\n" + self.body


_REASONS = {200: "OK", 202: "Accepted", 404: "Not Found", 500: "Internal Server Error"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived. ``header_lines`` are the raw lines (``b"Name: value"``)."""

    seq: int
    connection: int
    request_line: bytes
    header_lines: tuple[bytes, ...]
    body: bytes
    chunked: bool = False

    @property
    def method(self) -> str:
        return self.request_line.split(b" ", 1)[0].decode("latin-1")

    @property
    def target(self) -> str:
        return self.request_line.split(b" ")[1].decode("latin-1")

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """(name, value) pairs, original case and order; the value without surrounding blanks."""
        pairs = []
        for line in self.header_lines:
            name, _, value = line.partition(b":")
            pairs.append((name, value.strip(b" \t")))
        return pairs

    def header(self, name: str) -> bytes | None:
        """The first value of a header, looked up case-insensitively."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def header_names(self) -> list[str]:
        return [name.decode("latin-1") for name, _ in self.headers]


class ProtocolViolation(Exception):
    """The client sent something that is not HTTP/1.1 as both runtimes are expected to send it."""


@dataclass
class _Conn:
    index: int
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)


class RecordingRuntimeAPI:
    """``with RecordingRuntimeAPI(script) as api: ...``; ``api.address`` goes in AWS_LAMBDA_RUNTIME_API."""

    def __init__(self, script: Iterable[NextAnswer], post_status: int = 202) -> None:
        self._script = list(script)
        self._post_status = post_status
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._connections: list[_Conn] = []
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        # Set when a /next arrives after the script is used up (the runtime is idle and alive).
        self.exhausted = threading.Event()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"

    # -- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> RecordingRuntimeAPI:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        thread = threading.Thread(target=self._accept_loop, name=f"recorder-accept-{self.port}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        # shutdown() wakes a thread blocked in accept()/recv(); close() alone may not.
        for sock in [self._listener, *(conn.sock for conn in self._connections)]:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in list(self._threads):
            thread.join(timeout=5)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    # -- serving ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._stop.is_set():
                    sock.close()
                    return
                conn = _Conn(len(self._connections), sock)
                self._connections.append(conn)
                thread = threading.Thread(target=self._serve, args=(conn,), name=f"recorder-conn-{conn.index}")
                thread.daemon = True
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: _Conn) -> None:
        try:
            while not self._stop.is_set():
                request = self._read_request(conn)
                if request is None:
                    return
                if not self._answer(conn, request):
                    return
        except OSError:
            return  # the peer (or close()) ended the connection
        except BaseException as exc:  # surfaced by the tests through .errors
            self.errors.append(exc)

    def _answer(self, conn: _Conn, request: RecordedRequest) -> bool:
        if request.method == "GET" and request.target == NEXT_PATH:
            with self._lock:
                answer = self._script.pop(0) if self._script else None
            if answer is None:
                self.exhausted.set()
                self._stop.wait()
                return False
            conn.sock.sendall(answer.to_bytes())
        elif request.target == f"{EXTENSION_PREFIX}/register":
            body = b'{"functionName":"conformance","functionVersion":"$LATEST","handler":"conformance"}'
            conn.sock.sendall(_simple_response(200, body, [f"Lambda-Extension-Identifier: {EXTENSION_ID}"]))
        elif request.target == f"{EXTENSION_PREFIX}/event/next":
            self._stop.wait()  # no extension event ever comes before the test ends the runtime
            return False
        elif request.method == "POST":
            conn.sock.sendall(_simple_response(self._post_status, _ACCEPTED_BODY))
        else:
            conn.sock.sendall(_simple_response(404, b'{"errorMessage":"not scripted"}'))
        return (request.header("Connection") or b"").lower() != b"close"

    def _read_request(self, conn: _Conn) -> RecordedRequest | None:
        head_end = self._fill_until(conn, b"\r\n\r\n")
        if head_end < 0:
            if conn.buffer:
                raise ProtocolViolation(f"connection closed inside a request head: {bytes(conn.buffer[:200])!r}")
            return None
        head = bytes(conn.buffer[:head_end])
        del conn.buffer[: head_end + 4]
        request_line, *header_lines = head.split(b"\r\n")
        if len(request_line.split(b" ")) != 3:
            raise ProtocolViolation(f"bad request line {request_line!r}")
        partial = RecordedRequest(0, conn.index, request_line, tuple(header_lines), b"")
        chunked = (partial.header("Transfer-Encoding") or b"").lower() == b"chunked"
        if chunked:
            body = self._read_chunked(conn)
        else:
            length = int(partial.header("Content-Length") or b"0")
            body = self._read_exactly(conn, length)
        with self._lock:
            request = RecordedRequest(len(self._requests), conn.index, request_line, tuple(header_lines), body, chunked)
            self._requests.append(request)
        return request

    def _fill_until(self, conn: _Conn, marker: bytes) -> int:
        """Index of ``marker`` in the buffer, reading more as needed; -1 at end of stream."""
        start = 0
        while True:
            index = conn.buffer.find(marker, start)
            if index >= 0:
                return index
            start = max(0, len(conn.buffer) - len(marker) + 1)
            data = conn.sock.recv(_READ_SIZE)
            if not data:
                return -1
            conn.buffer += data

    def _read_exactly(self, conn: _Conn, length: int) -> bytes:
        while len(conn.buffer) < length:
            data = conn.sock.recv(max(_READ_SIZE, length - len(conn.buffer)))
            if not data:
                raise ProtocolViolation(f"connection closed after {len(conn.buffer)} of {length} body bytes")
            conn.buffer += data
        body = bytes(conn.buffer[:length])
        del conn.buffer[:length]
        return body

    def _read_chunked(self, conn: _Conn) -> bytes:
        body = bytearray()
        while True:
            line_end = self._fill_until(conn, b"\r\n")
            if line_end < 0:
                raise ProtocolViolation("connection closed inside a chunk size line")
            size = int(bytes(conn.buffer[:line_end]).split(b";")[0], 16)
            del conn.buffer[: line_end + 2]
            if size == 0:
                # Trailers (if any) end with an empty line; they are not part of the body.
                while True:
                    line_end = self._fill_until(conn, b"\r\n")
                    if line_end < 0:
                        raise ProtocolViolation("connection closed inside chunked trailers")
                    del conn.buffer[: line_end + 2]
                    if line_end == 0:
                        return bytes(body)
            body += self._read_exactly(conn, size + 2)[:size]


def _simple_response(status: int, body: bytes, extra_headers: Sequence[str] = ()) -> bytes:
    head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}", *extra_headers]
    head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body


def requests_for(requests: Sequence[RecordedRequest], request_id: str) -> list[RecordedRequest]:
    """The posts about one invocation (its id is a path segment)."""
    marker = f"/invocation/{request_id}/"
    return [r for r in requests if marker in r.target]
