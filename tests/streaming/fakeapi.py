"""A raw-socket Runtime API that records streamed uploads exactly.

It serves /next from a list of events and reads every other request as the bytes arrive:
Content-Length bodies whole, chunked bodies chunk by chunk (each chunk recorded with its
arrival time, and pushed to a queue the test can watch while the handler is still running),
then the trailers. It can read slowly (to exercise back-pressure), discard the body while
counting it (to stream 100+ MB without holding it), or hang up mid-stream.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import time
from dataclasses import dataclass, field

from threaded_server import ThreadedServer  # tests/threaded_server.py

ACCEPTED = (202, b'{"status":"OK"}')


@dataclass
class Post:
    method: str
    path: str
    raw_head: bytes
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunked: bool = False
    chunks: list[bytes] = field(default_factory=list)
    chunk_times: list[float] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    raw_trailers: bytes = b""
    body_bytes: int = 0
    raw: bytes = b""  # the whole request as received (when kept)
    complete: bool = False
    connection: int = 0  # which accepted connection carried it (1, 2, ...)

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None


def event(request_id: str, body: bytes = b"{}", **headers: str) -> tuple[dict[str, str], bytes]:
    base = {
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 600_000),
        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Content-Type": "application/json",
    }
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    return base, body


class _Reader:
    def __init__(self, conn: socket.socket, recv_size: int, pause: float, keep: bytearray | None) -> None:
        self.conn = conn
        self.buffer = bytearray()
        self.recv_size = recv_size
        self.pause = pause
        self.keep = keep  # every byte read, for exact comparisons (None: not kept)

    def fill(self) -> None:
        if self.pause:
            time.sleep(self.pause)
        data = self.conn.recv(self.recv_size)
        if not data:
            raise EOFError
        if self.keep is not None:
            self.keep += data
        self.buffer += data

    def line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self.fill()
        out = bytes(self.buffer[:end])
        del self.buffer[: end + 2]
        return out

    def head(self) -> bytes:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self.fill()
        out = bytes(self.buffer[:end])
        del self.buffer[: end + 4]
        return out

    def exact(self, size: int, keep: bool) -> bytes:
        parts: list[bytes] = []
        while size:
            if not self.buffer:
                self.fill()
            take = min(size, len(self.buffer))
            if keep:
                parts.append(bytes(self.buffer[:take]))
            del self.buffer[:take]
            size -= take
        return b"".join(parts)


class StreamingFakeAPI(ThreadedServer):
    """``events`` go to /next in order; then /next waits until ``close``. Posts are answered
    with ``answer`` and pushed to ``posts`` when complete; each chunk of a chunked post is
    pushed to ``chunk_log`` as (time, data) the moment it is read."""

    def __init__(
        self,
        events: list[tuple[dict[str, str], bytes]],
        answer: tuple[int, bytes] = ACCEPTED,
        keep_body: bool = True,
        recv_size: int = 65536,
        read_pause: float = 0.0,
        hang_up_after: int | None = None,
    ) -> None:
        self.events: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        for item in events:
            self.events.put(item)
        self.answer = answer
        self.keep_body = keep_body
        self.recv_size = recv_size
        self.read_pause = read_pause
        self.hang_up_after = hang_up_after
        self.posts: queue.Queue[Post] = queue.Queue()
        self.chunk_log: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self.next_connections: list[int] = []  # the connection of each /next, in order
        super().__init__()

    def wait_post(self, timeout: float = 15.0) -> Post:
        return self.posts.get(timeout=timeout)

    def _serve(self, conn: socket.socket, number: int) -> None:
        with contextlib.suppress(OSError, EOFError), conn:
            reader = _Reader(conn, self.recv_size, 0.0, None)
            while not self._stop.is_set():
                keep = bytearray() if self.keep_body else None
                reader.keep = keep
                if keep is not None:
                    keep += reader.buffer  # bytes of this request already buffered
                head = reader.head()
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines[1:])]
                post = Post(method, path, head, headers, connection=number)
                if path.endswith("/invocation/next"):
                    self.next_connections.append(number)
                    item = self._next_event()
                    if item is None:
                        return
                    ev_headers, body = item
                    extra = "".join(f"{k}: {v}\r\n" for k, v in ev_headers.items())
                    conn.sendall(f"HTTP/1.1 200 OK\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                    continue
                if path.startswith("/2020-01-01/extension/"):
                    # The runtime's own internal extensions: registered, then parked for good.
                    reader.exact(int(post.header("content-length") or 0), False)
                    if path.endswith("/event/next"):
                        self._stop.wait()
                        return
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: ext-1\r\nContent-Length: 2\r\n\r\n{}"
                    )
                    continue
                if (post.header("transfer-encoding") or "").lower() == "chunked":
                    post.chunked = True
                    if not self._read_chunked(reader, post):
                        return  # hung up on purpose
                else:
                    post.body = reader.exact(int(post.header("content-length") or 0), True)
                    post.body_bytes = len(post.body)
                post.complete = True
                if keep is not None:
                    post.raw = bytes(keep[: len(keep) - len(reader.buffer)])
                status, body = self.answer
                conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
                self.posts.put(post)

    def _read_chunked(self, reader: _Reader, post: Post) -> bool:
        reader.pause = self.read_pause
        try:
            while True:
                size_line = reader.line()
                size = int(size_line.split(b";", 1)[0], 16)
                if size == 0:
                    break
                data = reader.exact(size, self.keep_body)
                now = time.monotonic()
                post.body_bytes += size
                if self.keep_body:
                    post.chunks.append(data)
                    post.chunk_times.append(now)
                    self.chunk_log.put((now, data))
                if reader.line() != b"":
                    raise ValueError("chunk not followed by CRLF")
                if self.hang_up_after is not None and post.body_bytes >= self.hang_up_after:
                    self.posts.put(post)
                    return False
            raw_trailers = bytearray()
            while line := reader.line():
                raw_trailers += line + b"\r\n"
                name, _, value = line.decode("latin-1").partition(":")
                post.trailers[name.strip()] = value.strip()
            post.raw_trailers = bytes(raw_trailers)
            post.body = b"".join(post.chunks)
            return True
        finally:
            reader.pause = 0.0

    def _next_event(self) -> tuple[dict[str, str], bytes] | None:
        while not self._stop.is_set():
            try:
                return self.events.get(timeout=0.05)
            except queue.Empty:
                continue
        return None
