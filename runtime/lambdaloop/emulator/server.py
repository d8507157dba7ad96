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
from typing import cast

from lambdaloop.emulator import http

# Body bytes parsed but not yet taken by the handler, above which reading from the peer
# pauses (and below which it resumes): a consumer slower than its peer slows the peer down
# through TCP instead of making us buffer.
_HIGH_WATER = 1024 * 1024
_LOW_WATER = 256 * 1024


class BodyTooLarge(Exception):
    pass


class PeerGone(Exception):
    """The other side closed the connection or broke the framing mid-message."""


class Connection(asyncio.BufferedProtocol):
    """One accepted connection: the transport reads straight into the parser's buffer.

    A BufferedProtocol rather than asyncio streams, for a streamed body's sake: the bytes go
    from the socket into ``http.Parser``'s buffer and are copied once, into the ``Data``
    events (a StreamReader adds an intermediate bytes object per read, its own buffer and a
    copy out of it: with the parser's own copies, that was most of the emulator's CPU per
    streamed MB). Events queue until the handler pulls them with ``next_event``.
    """

    def __init__(self, on_connect: Callable[[Connection], None]) -> None:
        self._on_connect = on_connect
        self.parser = http.Parser("request")
        self.transport: asyncio.Transport | None = None
        self._events: deque[http.Event] = deque()
        self._queued = 0  # body bytes in _events
        self._reading_paused = False
        self._eof = False
        # Raised by next_event once the events before it are taken: an HttpError to answer,
        # or PeerGone.
        self._read_error: Exception | None = None
        self._read_waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self._lost = False
        self._scatter = False
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # ---- asyncio protocol callbacks ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only look like one.
        self.transport = cast(asyncio.Transport, transport)
        # uvloop's writelines is a writev under flow control. asyncio's joins the buffers
        # (3.10, 3.11) or, in 3.12.0-3.12.8 and 3.13.0-3.13.1, never pauses the protocol
        # (CPython gh-127655): no back-pressure. So only uvloop gets scatter writes.
        self._scatter = type(transport).__module__.startswith("uvloop")
        self._on_connect(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.parser.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        try:
            events = self.parser.buffer_updated(nbytes)
        except http.HttpError as exc:
            self._fail(exc)
            return
        for event in events:
            if type(event) is http.Data:
                self._queued += len(event.data)
        self._events.extend(events)
        if self._queued > _HIGH_WATER and not self._reading_paused:
            self._reading_paused = True
            assert self.transport is not None
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self._end_of_input()
        # Keep the transport open for writing: a client that half-closed still gets its answer.
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if exc is not None and not self._eof:
            self._eof = True
            self._read_error = self._read_error or PeerGone(str(exc))
        self._end_of_input()
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(PeerGone("connection lost"))
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- reading -------------------------------------------------------------------------

    def _end_of_input(self) -> None:
        if self._eof:
            self._wake_reader()
            return
        self._eof = True
        try:
            self._events.extend(self.parser.feed_eof())
        except http.HttpError as exc:
            self._read_error = self._read_error or PeerGone(str(exc))
        self._wake_reader()

    def _fail(self, exc: Exception) -> None:
        self._read_error = exc
        if self.transport is not None and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def _wake_reader(self) -> None:
        waiter = self._read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_event(self) -> http.Event | None:
        """The next parsed event; None when the peer closed cleanly between messages."""
        events = self._events
        while not events:
            if self._read_error is not None:
                raise self._read_error
            if self._eof:
                return None
            self._resume_reading()
            self._read_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._read_waiter
            finally:
                self._read_waiter = None
        event = events.popleft()
        if type(event) is http.Data:
            self._queued -= len(event.data)
            if self._queued <= _LOW_WATER:
                self._resume_reading()
        return event

    def ready_data(self) -> list[bytes]:
        """The body pieces already parsed and queued, up to the next other event; no waiting."""
        events = self._events
        pieces: list[bytes] = []
        while events:
            event = events[0]
            if type(event) is not http.Data:
                break
            events.popleft()
            self._queued -= len(event.data)
            pieces.append(event.data)
        if self._queued <= _LOW_WATER:
            self._resume_reading()
        return pieces

    def _resume_reading(self) -> None:
        if self._reading_paused and self._read_error is None and not self._eof:
            self._reading_paused = False
            assert self.transport is not None
            self.transport.resume_reading()

    # ---- writing -------------------------------------------------------------------------

    def _writable(self) -> asyncio.Transport:
        transport = self.transport
        if self._lost or transport is None or transport.is_closing():
            raise PeerGone("connection lost")
        return transport

    async def write(self, data: bytes) -> None:
        if not data:
            return
        try:
            self._writable().write(data)
        except (ConnectionError, OSError) as exc:
            raise PeerGone(str(exc)) from None
        await self._drain()

    async def write_chunks(self, pieces: list[bytes]) -> None:
        """Each piece as its own chunk of a chunked body, in one write."""
        frames: list[bytes] = []
        for data in pieces:
            if data:  # an empty chunk would end the body
                frames += (http.chunk_head(len(data)), data, http.CRLF)
        if not frames:
            return
        try:
            transport = self._writable()
            if self._scatter:
                # One writev: the data is not copied into joined chunks (that copy was a
                # third of the emulator's CPU per MB at 1 MiB reads).
                transport.writelines(frames)
            else:
                transport.write(b"".join(frames))
        except (ConnectionError, OSError) as exc:
            raise PeerGone(str(exc)) from None
        await self._drain()

    async def _drain(self) -> None:
        """Wait while the transport holds more than its high-water mark: a slow reader
        slows the writer down."""
        if not self._write_paused:
            return
        if self._lost:
            raise PeerGone("connection lost")
        waiter = self._drain_waiter
        if waiter is None or waiter.done():
            waiter = self._drain_waiter = asyncio.get_running_loop().create_future()
        await waiter

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        with contextlib.suppress(Exception):
            await self._closed


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
        async for pieces in self.iter_body_pieces():
            for data in pieces:
                yield data

    async def iter_body_pieces(self) -> AsyncIterator[list[bytes]]:
        """The body as it arrives, in lists of pieces (one per chunk of a chunked body, or per
        read): each list is all that had arrived, so a streamed body is forwarded with
        per-read, not per-chunk, overhead."""
        connection = self.connection
        while not self._body_done:
            event = await connection.next_event()
            if event is None:
                raise PeerGone("connection closed inside a request body")
            if isinstance(event, http.Data):
                yield [event.data, *connection.ready_data()]
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

    async def write_chunks(self, pieces: list[bytes]) -> None:
        await self.connection.write_chunks(pieces)

    async def end_stream(self, trailers: list[tuple[str, str]] | None = None) -> None:
        await self.connection.write(http.render_last_chunk(trailers))


Dispatcher = Callable[[Exchange], Awaitable[None]]


async def serve_connection(connection: Connection, dispatch: Dispatcher) -> None:
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
        await connection.close()


class Listener:
    """A listening socket plus the connections it accepted, so closing ends them all: a
    runtime parked in /next or an idle keep-alive client must not outlive the emulator."""

    def __init__(self, dispatch: Dispatcher) -> None:
        self._dispatch = dispatch
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.get_running_loop().create_server(lambda: Connection(self._on_connect), host, port)
        return int(self._server.sockets[0].getsockname()[1])

    def _on_connect(self, connection: Connection) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(connection))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, connection: Connection) -> None:
        # Only ``close`` cancels these: end quietly (serve_connection closed the transport).
        with contextlib.suppress(asyncio.CancelledError):
            await serve_connection(connection, self._dispatch)

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
