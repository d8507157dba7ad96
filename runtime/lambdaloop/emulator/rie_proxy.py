"""A one-at-a-time gate in front of the real RIE's invoke API.

The classic RIE crashes (nil pointer, exit 2, both invokes lost) when a second invoke
arrives while one is in flight. ``lambdaloop serve --rie`` therefore listens itself and
forwards invokes to the RIE strictly one after the other; overlapping callers wait.
"""

from __future__ import annotations

import asyncio

from lambdaloop.emulator import http
from lambdaloop.emulator.server import Exchange, Listener

# Framing is the proxy's own business on each leg; these are not forwarded.
_HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive", "trailer", "host"}


class SerialProxy:
    def __init__(self, host: str, port: int, target_host: str, target_port: int) -> None:
        self.host, self.port = host, port
        self.target_host, self.target_port = target_host, target_port
        self._lock = asyncio.Lock()
        self._listener = Listener(self.dispatch)

    async def start(self) -> None:
        self.port = await self._listener.start(self.host, self.port)

    async def close(self) -> None:
        await self._listener.close()

    async def dispatch(self, exchange: Exchange) -> None:
        body = await exchange.read_body()
        headers = [(k, v) for k, v in exchange.headers.items if k.lower() not in _HOP_BY_HOP]
        request = http.render_request(
            exchange.head.method,
            exchange.head.target,
            [("Host", f"{self.target_host}:{self.target_port}"), *headers],
            body,
        )
        async with self._lock:
            try:
                status, answer_headers, answer = await self._forward(request)
            except (OSError, http.HttpError) as exc:
                await exchange.respond(502, [("Content-Type", "text/plain; charset=utf-8")], f"RIE: {exc}\n".encode())
                return
        kept = [(k, v) for k, v in answer_headers.items if k.lower() not in _HOP_BY_HOP]
        await exchange.respond(status, kept, answer)

    async def _forward(self, request: bytes) -> tuple[int, http.Headers, bytes]:
        reader, writer = await asyncio.open_connection(self.target_host, self.target_port)
        try:
            writer.write(request)
            await writer.drain()
            parser = http.Parser("response")
            status, headers, parts = 0, http.Headers(), []
            while True:
                data = await reader.read(256 * 1024)
                for event in parser.feed(data) if data else parser.feed_eof():
                    if isinstance(event, http.ResponseHead):
                        status, headers = event.status, event.headers
                    elif isinstance(event, http.Data):
                        parts.append(event.data)
                    elif isinstance(event, http.EndOfMessage):
                        return status, headers, b"".join(parts)
                if not data:
                    raise http.HttpError("the RIE closed the connection without an answer")
        finally:
            writer.close()
