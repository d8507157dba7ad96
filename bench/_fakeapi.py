"""A fast fake Runtime API: pre-rendered /next answers, a 202 for every post, nothing else.

It lets the benchmarks see the runtime loop alone (no RIE, whose ~0.7 ms per invoke would
swamp it). One thread, ``selectors`` over plain blocking sockets: a socket is read only once
it is readable, and answers go out with a blocking ``sendall`` (the runtime is always reading
when we answer; a watchdog kills a runtime that stops, which unblocks us).

The events are served in phases (e.g. noop then 1 MB echo); each phase has untimed warm-up
events, and the server notes the wall clock and the runtime's CPU time when a phase's
warm-up posts and its last post arrive. Once every event is served, further /next calls are
held open; the caller ends the runtime by PID.

For long runs (``soak.py``) a phase can cycle through several payloads (``mix``), every
invocation can carry its own trace id (``distinct_trace``: the Root's last 24 hex digits are
the invocation's number, as its request id's last 12 decimal digits are), and ``on_post``
sees every /response and /error with the number of the invocation it answers.

``python bench/_fakeapi.py serve PORT`` runs it endlessly in its own process (for
``transport.py``, whose clients must not share a process with the server).
"""

from __future__ import annotations

import selectors
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

ARN = "arn:aws:lambda:us-east-1:123456789012:function:bench"
TRACE = "Root=1-5e1b4151-5ac6c58f5b5daa6532e4f5d1;Parent=53995c3f42cd8ad8;Sampled=1"
ACCEPTED = b'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"status":"OK"}\n'
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
EXTENSION_REGISTERED = (
    b"HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: bench-ext\r\nContent-Type: application/json\r\n"
    b'Content-Length: 59\r\n\r\n{"functionName":"bench","functionVersion":"$LATEST","h":""}'
)
NEXT_SUFFIX = b"/invocation/next"


@dataclass
class Phase:
    name: str
    payload: bytes
    warmup: int
    count: int
    expect: bytes | None = None  # the exact body every /response must carry, if checked
    mix: tuple[bytes, ...] = ()  # payloads served in turn instead of ``payload``, if given
    t0: float = 0.0
    t1: float = 0.0
    cpu0: float = 0.0
    cpu1: float = 0.0
    server_cpu0: float = 0.0
    server_cpu1: float = 0.0
    bad_bodies: int = 0
    errors: int = 0

    def figures(self) -> dict[str, float | int | str]:
        n = self.count
        done = self.t1 > 0
        nan = float("nan")
        return {
            "phase": self.name,
            "events": n,
            "wall_us_per_invoke": (self.t1 - self.t0) / n * 1e6 if done else nan,
            "runtime_cpu_us_per_invoke": (self.cpu1 - self.cpu0) / n * 1e6 if done else nan,
            "server_cpu_us_per_invoke": (self.server_cpu1 - self.server_cpu0) / n * 1e6 if done else nan,
            "bad_bodies": self.bad_bodies,
            "errors": self.errors,
        }


@dataclass
class _Conn:
    sock: socket.socket
    buf: bytearray = field(default_factory=bytearray)
    continued: bool = False


REQUEST_ID_PREFIX = "8476a536-e9f4-11e8-9739-"
TRACE_PREFIX = "Root=1-5e1b4151-"
TRACE_SUFFIX = ";Parent=53995c3f42cd8ad8;Sampled=1"


def request_id(n: int) -> str:
    """The request id of the n-th invocation served (1-based)."""
    return f"{REQUEST_ID_PREFIX}{n:012d}"


def distinct_trace_id(n: int) -> str:
    """The n-th invocation's trace id under ``distinct_trace``."""
    return f"{TRACE_PREFIX}{n:024x}{TRACE_SUFFIX}"


def _head_template(payload_len: int, distinct_trace: bool = False) -> bytes:
    """A /next answer head with ``%(n)012d`` for the request id (and ``%(n)024x`` in the
    trace id under ``distinct_trace``), filled with ``template % {b"n": n}``."""
    deadline = int(time.time() * 1000) + 900_000
    trace = f"{TRACE_PREFIX}%(n)024x{TRACE_SUFFIX}" if distinct_trace else TRACE
    return (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        f"Lambda-Runtime-Aws-Request-Id: {REQUEST_ID_PREFIX}%(n)012d\r\n"
        f"Lambda-Runtime-Deadline-Ms: {deadline}\r\n"
        f"Lambda-Runtime-Invoked-Function-Arn: {ARN}\r\n"
        f"Lambda-Runtime-Trace-Id: {trace}\r\n"
        f"Content-Length: {payload_len}\r\n\r\n"
    ).encode()


# (invocation number, path, posted to /error, body): see FakeRuntimeApi(on_post=...)
PostHook = Callable[[int, bytes, bool, bytes], None]


class FakeRuntimeApi:
    def __init__(
        self,
        phases: list[Phase],
        cpu_probe: Callable[[], float] | None = None,
        endless: bool = False,
        distinct_trace: bool = False,
        on_post: PostHook | None = None,
    ) -> None:
        self.phases = phases
        self.cpu_probe = cpu_probe or (lambda: 0.0)
        self.endless = endless
        self.on_post = on_post
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.port: int = self.listener.getsockname()[1]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        # Schedule: event i belongs to phase _owner[i]; the heads are rendered ahead of time.
        self._owner: list[Phase] = [p for p in phases for _ in range(p.warmup + p.count)]
        # Each phase's answers, head template and body, served in turn (one unless ``mix``).
        self._answers = {
            id(p): [(_head_template(len(body), distinct_trace), body) for body in (p.mix or (p.payload,))]
            for p in phases
        }
        self._first_of: dict[int, int] = {}  # phase -> the number of its first invocation, for cycling ``mix``
        start = 0
        for p in phases:
            self._first_of[id(p)] = start
            start += p.warmup + p.count
        # Completion count -> marks to take. A phase without warm-up starts at the very count
        # where the previous one ends, hence a list.
        self._marks: dict[int, list[tuple[Phase, int]]] = {}
        done = 0
        for p in phases:
            self._marks.setdefault(done + p.warmup, []).append((p, 0))
            done += p.warmup + p.count
            self._marks.setdefault(done, []).append((p, 1))
        self.served = 0
        self.completed = 0
        self.t_first_next = 0.0
        self.t_first_response = 0.0
        self.first_next_head = b""

    @property
    def finished(self) -> bool:
        return not self.endless and self.completed >= len(self._owner)

    def serve(self, deadline: float, stop: Callable[[], bool] = lambda: False) -> None:
        """Serve until every event is answered, ``stop()`` is true, or the monotonic deadline."""
        while not self.finished and not stop() and time.monotonic() < deadline:
            for key, _ in self.selector.select(timeout=0.2):
                if key.data is None:
                    sock, _addr = self.listener.accept()
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.selector.register(sock, selectors.EVENT_READ, _Conn(sock))
                else:
                    self._readable(key.data)

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()

    def _readable(self, conn: _Conn) -> None:
        try:
            chunk = conn.sock.recv(1 << 20)
        except OSError:
            chunk = b""
        if not chunk:
            self.selector.unregister(conn.sock)
            conn.sock.close()
            return
        conn.buf += chunk
        while self._one_request(conn):
            pass

    def _one_request(self, conn: _Conn) -> bool:
        buf = conn.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(buf[:end])
        lower = head.lower()
        start = end + 4
        if b"transfer-encoding: chunked" in lower:
            parsed = _dechunk(buf, start)
            if parsed is None:
                return self._await_body(conn, lower)
            body, consumed = parsed
        else:
            length = _content_length(lower)
            if len(buf) < start + length:
                return self._await_body(conn, lower)
            body, consumed = bytes(buf[start : start + length]), start + length
        del buf[:consumed]
        conn.continued = False
        first_line = head[: head.find(b"\r\n")] if b"\r\n" in head else head
        method, path = first_line.split(b" ", 2)[:2]
        self._dispatch(conn, method, path, head, body)
        return True

    def _await_body(self, conn: _Conn, lower_head: bytes) -> bool:
        # libcurl (awslambdaric) sends "Expect: 100-continue" before a large body and stalls
        # for a second without this answer.
        if not conn.continued and b"expect: 100-continue" in lower_head:
            conn.continued = True
            conn.sock.sendall(CONTINUE)
        return False

    def _dispatch(self, conn: _Conn, method: bytes, path: bytes, head: bytes, body: bytes) -> None:
        if method == b"GET" and path.endswith(NEXT_SUFFIX):
            if not self.t_first_next:
                self.t_first_next = time.perf_counter()
                self.first_next_head = head
            if self.endless:
                phase = self.phases[0]
            elif self.served < len(self._owner):
                phase = self._owner[self.served]
            else:
                return  # everything served: hold this /next open
            answers = self._answers[id(phase)]
            head, body = answers[(self.served - self._first_of[id(phase)]) % len(answers)]
            self.served += 1
            conn.sock.sendall((head % {b"n": self.served}) + body)
            return
        if b"/extension/" in path:
            # The Extensions API as Lambda answers it: lambdaloop registers its SIGTERM
            # extension before the first /next (200 + identifier) and parks it in event/next,
            # which the platform never answers for an extension with no events.
            if path.endswith(b"/register"):
                conn.sock.sendall(EXTENSION_REGISTERED)
            return
        conn.sock.sendall(ACCEPTED)
        if method != b"POST" or not (path.endswith(b"/response") or path.endswith(b"/error")):
            return  # init/error, extension calls...: accepted, not counted
        if not self.t_first_response:
            self.t_first_response = time.perf_counter()
        if self.on_post is not None:
            # .../invocation/<request id>/response: the id ends in the invocation's number.
            number = path.rsplit(b"/", 2)[-2][-12:]
            self.on_post(int(number) if number.isdigit() else 0, path, path.endswith(b"/error"), body)
        if self.endless:
            return
        phase = self._owner[min(self.completed, len(self._owner) - 1)]
        if path.endswith(b"/error"):
            phase.errors += 1
        elif phase.expect is not None and body.strip() != phase.expect:
            phase.bad_bodies += 1
        self.completed += 1
        for phase_mark in self._marks.get(self.completed, ()):
            self._mark(*phase_mark)

    def _mark(self, phase: Phase, which: int) -> None:
        now, cpu, server = time.perf_counter(), self.cpu_probe(), time.process_time()
        if which == 0:
            phase.t0, phase.cpu0, phase.server_cpu0 = now, cpu, server
        else:
            phase.t1, phase.cpu1, phase.server_cpu1 = now, cpu, server


def _content_length(lower_head: bytes) -> int:
    at = lower_head.find(b"content-length:")
    if at < 0:
        return 0
    eol = lower_head.find(b"\r\n", at)
    return int(lower_head[at + 15 : eol if eol > 0 else len(lower_head)])


def _dechunk(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    out = bytearray()
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            end = buf.find(b"\r\n\r\n", pos - 2)  # optional trailers, then an empty line
            return (bytes(out), end + 4) if end >= 0 else None
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


def main(argv: list[str]) -> None:
    """``serve PORT_FILE [PAYLOAD_BYTES] [LIFETIME_S]``: endless server, its port written to PORT_FILE."""
    if len(argv) < 2 or argv[0] != "serve":
        raise SystemExit("usage: _fakeapi.py serve PORT_FILE [PAYLOAD_BYTES] [LIFETIME_S]")
    size = int(argv[2]) if len(argv) > 2 else 2
    lifetime = float(argv[3]) if len(argv) > 3 else 600.0
    api = FakeRuntimeApi([Phase("endless", b"{" + b" " * max(0, size - 2) + b"}", 0, 0)], endless=True)
    with open(argv[1], "w") as f:
        f.write(str(api.port))
    api.serve(time.monotonic() + lifetime)  # bounded even if nobody ends us


if __name__ == "__main__":
    main(sys.argv[1:])
