"""The invoke port: the classic RIE's endpoint and a streaming one the RIE lacks.

``POST /2015-03-31/functions/function/invocations`` answers as the classic RIE does
(``outcome.invoke_answer``), except that events above 6 MiB + 100 bytes are refused with
413 instead of being silently truncated, and overlapping invokes queue instead of crashing.

``POST /2021-11-15/functions/function/response-streaming-invocations`` answers 200 with a
chunked body that carries the runtime's bytes as they arrive, then ends with HTTP trailers:

- ``Lambda-Runtime-Function-Error-Type`` and ``Lambda-Runtime-Function-Error-Body``
  (base64 of the error JSON) when the invoke failed, mid-stream or before, exactly the
  trailers a streaming runtime sends to the Runtime API;
- nothing when it succeeded.

When the invoke fails before any byte was streamed, the answer also looks like the buffered
endpoint's (its status, ``X-Amz-Function-Error: Unhandled``, the error JSON as body), so
``curl`` users, who never see trailers, see the error too. The response head also carries
``Lambda-Runtime-Function-Response-Mode: streaming`` or ``buffered``, telling whether the
runtime streamed or posted a buffered response.
"""

from __future__ import annotations

import base64

from lambdaloop import protocol
from lambdaloop.emulator import outcome as oc
from lambdaloop.emulator import routes
from lambdaloop.emulator.invocation import BadInvoke, Chunk, Done, Head, Invocation, invoke_request
from lambdaloop.emulator.sandbox import Sandbox
from lambdaloop.emulator.server import BodyTooLarge, Exchange, PeerGone

TRAILER_NAMES = f"{protocol.H_ERROR_TYPE}, {protocol.H_ERROR_BODY}"


def error_trailers(outcome: oc.Outcome) -> list[tuple[str, str]]:
    if not outcome.failed:
        return []
    return [
        (protocol.H_ERROR_TYPE, outcome.error_type or "Unhandled"),
        (protocol.H_ERROR_BODY, base64.b64encode(outcome.body).decode("ascii")),
    ]


class InvokeApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def dispatch(self, exchange: Exchange) -> None:
        route = routes.invoke_route(exchange.head.method, exchange.head.path)
        if route is None:
            await exchange.respond(404, [("Content-Type", "text/plain; charset=utf-8")], b"404 page not found\n")
            return
        if route.name == "ping":
            await exchange.respond(200, [("Content-Type", "text/plain; charset=utf-8")], b"pong")
            return
        invocation = await self._enqueue(exchange, streaming=route.name == "invoke_stream")
        if invocation is None:
            return
        if route.name == "invoke_stream":
            await self._answer_streaming(exchange, invocation)
        else:
            await self._answer_buffered(exchange, invocation)

    async def _enqueue(self, exchange: Exchange, streaming: bool) -> Invocation | None:
        try:
            body = await exchange.read_body(protocol.MAX_BUFFERED_PAYLOAD)
            request = invoke_request(body, exchange.headers)
        except BodyTooLarge:
            message = (
                f"Request payload size exceeded maximum allowed payload size ({protocol.MAX_BUFFERED_PAYLOAD} bytes)."
            )
            await exchange.respond(
                413, [("Content-Type", "application/json")], oc.error_json("RequestEntityTooLargeException", message)
            )
            return None
        except BadInvoke as exc:
            await exchange.respond(
                400, [("Content-Type", "application/json")], oc.error_json("InvalidRequestContentException", str(exc))
            )
            return None
        invocation = Invocation(request, streaming_client=streaming)
        self.sandbox.submit(invocation)
        return invocation

    async def _answer_buffered(self, exchange: Exchange, invocation: Invocation) -> None:
        parts: list[bytes] = []
        while True:
            item = await invocation.channel.get()
            if isinstance(item, Chunk):
                parts += item.pieces
            elif isinstance(item, Done):
                break
        outcome = item.outcome
        if outcome.kind == "success" and not outcome.body:
            # A streamed response, gathered: the RIE hands the whole body over at the end too.
            outcome = oc.success(b"".join(parts), outcome.content_type)
        status, headers, body = oc.invoke_answer(outcome)
        await exchange.respond(status, headers, body)

    async def _answer_streaming(self, exchange: Exchange, invocation: Invocation) -> None:
        started = False
        client_gone = False
        while True:
            item = await invocation.channel.get()
            if isinstance(item, Done):
                break
            if client_gone:
                continue  # keep draining so the runtime is never blocked by a vanished client
            try:
                if isinstance(item, Head):
                    if item.streaming:
                        await self._start(exchange, 200, item.content_type, "streaming")
                        started = True
                elif isinstance(item, Chunk):
                    if not started:
                        await self._start(exchange, 200, "application/octet-stream", "streaming")
                        started = True
                    await exchange.write_chunks(item.pieces)
            except PeerGone:
                client_gone = True
        if client_gone:
            return
        outcome = item.outcome
        if not started:
            headers = [(oc.ERROR_HEADER, "Unhandled")] if outcome.failed else []
            content_type = outcome.content_type or (
                "application/json" if outcome.failed else "application/octet-stream"
            )
            await self._start(exchange, outcome.status, content_type, "buffered", headers)
            await exchange.write_chunks([outcome.body])
        await exchange.end_stream(error_trailers(outcome))

    async def _start(
        self, exchange: Exchange, status: int, content_type: str, mode: str, extra: list[tuple[str, str]] | None = None
    ) -> None:
        await exchange.start_stream(
            status,
            [
                ("Content-Type", content_type),
                (protocol.H_RESPONSE_MODE, mode),
                ("Trailer", TRAILER_NAMES),
                *(extra or []),
            ],
        )
