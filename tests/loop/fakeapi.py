"""A scriptable Runtime API on 127.0.0.1 for fault injection: real sockets, real HTTP/1.1,
answers chosen per request by the test. Not the proof of compatibility (the RIE and the
differential suite are); the place to make the platform misbehave on purpose.

Requests are read with the emulator's sans-IO HTTP/1.1 parser (``lambdaloop.emulator.http``),
which is strict: a malformed request from the runtime fails the exchange instead of being
read leniently."""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from threaded_server import ThreadedServer  # tests/threaded_server.py

from lambdaloop.emulator.http import Data, EndOfMessage, Parser, RequestHead


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    raw_head: bytes = b""
    connection: int = 0  # which accepted connection carried it
    trailers: dict[str, str] = field(default_factory=dict)  # of a chunked body, names lower-cased


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    close: bool = False  # close the connection after answering
    drop: bool = False  # close without answering at all


def event(request_id: str, body: bytes = b"{}", **headers: str) -> Answer:
    base = {
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": "9999999999999",
        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Content-Type": "application/json",
    }
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    return Answer(200, {k: v for k, v in base.items() if v is not None}, body)


class FakeRuntimeAPI(ThreadedServer):
    """``events`` are served to /next in order; when they run out, /next blocks until
    ``close``. Every other request is recorded and answered by ``on_post`` (default 202)."""

    def __init__(self, events: list[Answer], on_post: Callable[[Request], Answer] | None = None) -> None:
        self.events: queue.Queue[Answer] = queue.Queue()
        for answer in events:
            self.events.put(answer)
        self.on_post = on_post or (lambda request: Answer(202, {}, b'{"status":"OK"}'))
        self.requests: list[Request] = []
        self.extension_requests: list[Request] = []
        self.posts: queue.Queue[Request] = queue.Queue()
        super().__init__()

    def runtime_connections(self) -> set[int]:
        """The connections that carried Runtime API calls (not the extension's)."""
        return {r.connection for r in self.requests if not r.path.startswith("/2020-01-01/")}

    def wait_post(self, timeout: float = 10.0) -> Request:
        return self.posts.get(timeout=timeout)

    def _serve(self, conn: socket.socket, number: int) -> None:
        # The runtime may be killed mid-request: that is the test's business, not ours.
        with contextlib.suppress(OSError):
            self._exchange(conn, number)

    def _exchange(self, conn: socket.socket, number: int) -> None:
        with conn:
            for request in _requests(conn, number, self._stop):
                self.requests.append(request)
                path = request.path
                if path.endswith("/invocation/next"):
                    answer = self._next_event()
                    if answer is None:
                        return
                elif path.startswith("/2020-01-01/extension/"):
                    # The runtime registers an internal extension (for SIGTERM) and parks it
                    # in event/next, as Lambda expects; this fake plays along and never wakes it.
                    self.extension_requests.append(request)
                    if path.endswith("/event/next"):
                        self._stop.wait()
                        return
                    answer = Answer(200, {"Lambda-Extension-Identifier": "ext-1"}, b'{"functionName":"f"}')
                else:
                    answer = self.on_post(request)
                    self.posts.put(request)
                if answer.drop:
                    return
                extra = "".join(f"{k}: {v}\r\n" for k, v in answer.headers.items())
                conn.sendall(
                    f"HTTP/1.1 {answer.status} X\r\n{extra}Content-Length: {len(answer.body)}\r\n\r\n".encode("latin-1")
                    + answer.body
                )
                if answer.close:
                    return

    def _next_event(self) -> Answer | None:
        while not self._stop.is_set():
            try:
                return self.events.get(timeout=0.1)
            except queue.Empty:
                continue
        return None


def _requests(conn: socket.socket, number: int, stop: threading.Event) -> Iterator[Request]:
    """Whole requests as the runtime sends them, one after the other (it never pipelines, so
    the bytes received since the last request ended are this request's: its raw head)."""
    parser = Parser("request")
    raw = bytearray()
    head: RequestHead | None = None
    body = bytearray()
    while not stop.is_set():
        data = conn.recv(65536)
        if not data:
            return
        raw += data
        for event in parser.feed(data):
            if isinstance(event, RequestHead):
                head, body = event, bytearray()
            elif isinstance(event, Data):
                body += event.data
            elif isinstance(event, EndOfMessage) and head is not None:
                headers = {name.lower(): value for name, value in head.headers.items}
                trailers = {name.lower(): value for name, value in event.trailers.items}
                raw_head = bytes(raw[: raw.find(b"\r\n\r\n")])
                raw.clear()
                yield Request(head.method, head.target, headers, bytes(body), raw_head, number, trailers)
