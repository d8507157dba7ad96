"""The Runtime API client's asyncio sibling: the same calls as ``RuntimeClient``, awaited.

Used where one process serves many invocations at once on its event loop (Lambda Managed
Instances with an ``async def`` handler): each slot owns one of these, on its own keep-alive
connection, so a slot waiting in ``/next`` never holds up another one's post. Same rules as
the blocking client: requests come from ``protocol``, answers are parsed by the transport's
pure functions (``parse_head``, ``body_framing``, ``chunk_size``), nothing here logs, retries
or ends the process.
"""

from __future__ import annotations

import asyncio

from . import protocol
from .runtime_client import error_request
from .transport import (
    CHUNKED,
    LENGTH,
    MAX_BODY,
    MAX_CHUNK_LINE,
    MAX_HEAD,
    UNTIL_CLOSE,
    Response,
    TransportError,
    body_framing,
    chunk_size,
    parse_head,
    split_address,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .errors import ErrorReport
    from .protocol import Invocation, PostOutcome


class AsyncConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams, reopened once if the peer closed it."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.host, self.port = split_address(address)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, data: bytes) -> Response:
        retry = self._writer is not None
        while True:
            try:
                if self._writer is None:
                    self._reader, self._writer = await asyncio.open_connection(self.host, self.port, limit=MAX_HEAD)
                self._writer.write(data)
                await self._writer.drain()
                return await self._read_response()
            except TransportError:
                self.close()
                raise
            except asyncio.LimitOverrunError as exc:
                self.close()
                raise TransportError(f"a line of the answer is longer than {MAX_HEAD} bytes") from exc
            except (OSError, asyncio.IncompleteReadError) as exc:
                self.close()
                if not retry:
                    raise TransportError(f"Runtime API at {self.address}: {exc}") from exc
                retry = False

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def _read_response(self) -> Response:
        reader = self._reader
        assert reader is not None
        head = await reader.readuntil(b"\r\n\r\n")
        status, headers = parse_head(head[:-4])
        framing, length = body_framing(status, headers)
        if framing == CHUNKED:
            body = await self._read_chunked(reader)
        elif framing == LENGTH:
            body = await reader.readexactly(length)
        elif framing == UNTIL_CLOSE:
            body = await reader.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                raise TransportError(f"body larger than {MAX_BODY} bytes")
            self.close()
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            if len(line) > MAX_CHUNK_LINE:
                raise TransportError(f"a line of the chunked body is longer than {MAX_CHUNK_LINE} bytes")
            size = chunk_size(line[:-2])
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, ignored
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise TransportError(f"chunked body larger than {MAX_BODY} bytes")
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise TransportError("chunk data not followed by CRLF")


class AsyncRuntimeClient:
    """``RuntimeClient``'s calls for buffered responses, awaited (see the module notes)."""

    def __init__(self, address: str, user_agent: str) -> None:
        self.host = address
        self.user_agent = user_agent
        self.connection = AsyncConnection(address)
        self._next_request = protocol.next_request(address, user_agent)

    async def next(self) -> Invocation:
        response = await self.connection.request(self._next_request)
        return protocol.parse_next(response.status, response.headers, response.body)

    async def respond(self, invocation: Invocation, body: bytes, content_type: str) -> PostOutcome:
        head = protocol.response_head(
            self.host, self.user_agent, invocation.request_id, len(body), content_type, invocation.invocation_id
        )
        response = await self.connection.request(head + body)
        return protocol.judge_post(response.status, response.body, f"/response for {invocation.request_id}")

    async def fail(self, invocation: Invocation, report: ErrorReport) -> PostOutcome:
        response = await self.connection.request(error_request(self.host, self.user_agent, invocation, report))
        return protocol.judge_post(response.status, response.body, f"/error for {invocation.request_id}")

    def reset(self) -> None:
        self.connection.close()
