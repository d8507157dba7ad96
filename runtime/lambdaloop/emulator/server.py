"""asyncio plumbing: accept connections, turn bytes into requests with ``http.Parser``,
hand each request to a dispatcher as an ``Exchange``, write the answer back.

One request at a time per connection (HTTP/1.1 keep-alive, no pipelining in flight), which
is all a Lambda runtime or invoker does. The body is pulled by the handler when it wants it,
so a streamed ``/response`` flows through as it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from lambdaloop.emulator import http

_READ_SIZE = 256 * 1024


class BodyTooLarge(Exception):
    pass


class PeerGone(Exception):
    """The other side closed the connection or broke the framing mid-message."""


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = http.Parser("request")
        self._events: deque[http.Event] = deque()
        self._eof = False

    async def next_event(self) -> http.Event | None:
        """The next parsed event; None when the peer closed cleanly between messages."""
        while not self._events:
            if self._eof:
                return None
            try:
                data = await self.reader.read(_READ_SIZE)
            except (ConnectionError, OSError) as exc:
                raise PeerGone(str(exc)) from None
            try:
                if data:
                    self._events.extend(self.parser.feed(data))
                else:
                    self._eof = True
                    self._events.extend(self.parser.feed_eof())
            except http.HttpError as exc:
                if self._eof:
                    raise PeerGone(str(exc)) from None
                raise
        return self._events.popleft()

    async def write(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            raise PeerGone(str(exc)) from None


class Exchange:
    """One request and its answer."""

    def __init__(self, connection: Connection, head: http.RequestHead) -> None:
        self.connection = connection
        self.head = head
        self.trailers = http.Headers()
        self._body_done = False
        self.responded = False
        self._streaming = False
        self.close_after = head.close

    @property
    def headers(self) -> http.Headers:
        return self.head.headers

    async def iter_body(self) -> AsyncIterator[bytes]:
        while not self._body_done:
            event = await self.connection.next_event()
            if event is None:
                raise PeerGone("connection closed inside a request body")
            if isinstance(event, http.Data):
                yield event.data
            elif isinstance(event, http.EndOfMessage):
                self.trailers = event.trailers
                self._body_done = True

    async def read_body(self, limit: int | None = None) -> bytes:
        """The whole body. Above ``limit`` the rest is read and dropped (so the client can
        read our answer instead of seeing a reset) and BodyTooLarge raised."""
        parts: list[bytes] = []
        size = 0
        too_large = False
        async for data in self.iter_body():
            size += len(data)
            if limit is not None and size > limit:
                too_large = True
                parts.clear()
            if not too_large:
                parts.append(data)
        if too_large:
            raise BodyTooLarge(size)
        return b"".join(parts)

    async def drain_body(self) -> None:
        async for _ in self.iter_body():
            pass

    async def respond(self, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        self.responded = True
        if self.close_after:
            headers = [*headers, ("Connection", "close")]
        await self.connection.write(http.render_response(status, headers, body))

    async def respond_json(self, status: int, value: object, headers: list[tuple[str, str]] | None = None) -> None:
        body = json.dumps(value, separators=(",", ":")).encode()
        await self.respond(status, [("Content-Type", "application/json"), *(headers or [])], body)

    async def respond_error(self, status: int, error_type: str, message: str) -> None:
        # RAPID's error rendering: errorMessage first, then errorType.
        await self.respond_json(status, {"errorMessage": message, "errorType": error_type})

    async def start_stream(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.responded = True
        self._streaming = True
        head = [*headers, ("Transfer-Encoding", "chunked")]
        if self.close_after:
            head.append(("Connection", "close"))
        await self.connection.write(http.render_head(http.status_line(status), head))

    async def write_chunk(self, data: bytes) -> None:
        await self.connection.write(http.render_chunk(data))

    async def end_stream(self, trailers: list[tuple[str, str]] | None = None) -> None:
        await self.connection.write(http.render_last_chunk(trailers))


Dispatcher = Callable[[Exchange], Awaitable[None]]


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dispatch: Dispatcher) -> None:
    connection = Connection(reader, writer)
    try:
        while True:
            try:
                event = await connection.next_event()
            except http.HttpError as exc:
                with contextlib.suppress(PeerGone):
                    await connection.write(http.render_response(exc.status, [("Connection", "close")]))
                return
            if event is None:
                return
            if not isinstance(event, http.RequestHead):
                return
            exchange = Exchange(connection, event)
            try:
                await dispatch(exchange)
                await exchange.drain_body()
            except http.HttpError as exc:
                if not exchange.responded:
                    exchange.close_after = True
                    with contextlib.suppress(PeerGone):
                        await exchange.respond(exc.status, [])
                return
            except (PeerGone, asyncio.CancelledError):
                raise
            except Exception as exc:
                # A bug in a handler must cost one request, not the emulator.
                print(f"lambdaloop emulator: error serving {event.method} {event.path}: {exc!r}", file=sys.stderr)
                if not exchange.responded:
                    exchange.close_after = True
                    with contextlib.suppress(PeerGone):
                        await exchange.respond(500, [])
                return
            if not exchange.responded:
                await exchange.respond(500, [])
            if exchange.close_after:
                return
    except PeerGone:
        return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


class Listener:
    """A listening socket plus the connections it accepted, so closing ends them all: a
    runtime parked in /next or an idle keep-alive client must not outlive the emulator."""

    def __init__(self, dispatch: Dispatcher) -> None:
        self._dispatch = dispatch
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._on_connect, host, port, limit=_READ_SIZE)
        return int(self._server.sockets[0].getsockname()[1])

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await serve_connection(reader, writer, self._dispatch)
        except asyncio.CancelledError:
            # Only ``close`` cancels these. Ending quietly matters: asyncio's stream protocol
            # (3.11) calls task.exception() on the finished task, which raises if cancelled.
            pass
        finally:
            self._tasks.discard(task)

    def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()

    async def close(self) -> None:
        self.stop_accepting()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
