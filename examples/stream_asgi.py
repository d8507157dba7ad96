"""A Starlette (or FastAPI) app behind a streaming Function URL: StreamingResponse and
Server-Sent Events are streamed, ordinary responses work as usual, lifespan runs once.

    lambdaloop handler: stream_asgi.handler
    local try-out:      python -m lambdaloop ... through the emulator's streaming endpoint,
                        POST /2021-11-15/functions/function/response-streaming-invocations
                        with a Function URL event (payload 2.0) as the body
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from lambdaloop.asgi import handler as asgi_handler


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def clock(request: Request) -> Response:
    async def events() -> AsyncIterator[str]:
        for i in range(10):
            yield f"data: {i}\n\n"
            await asyncio.sleep(0.5)

    return StreamingResponse(events(), media_type="text/event-stream")


app = Starlette(routes=[Route("/", health), Route("/clock", clock)])
handler = asgi_handler(app)
