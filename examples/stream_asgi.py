"""A Starlette (or FastAPI) app behind a streaming Function URL: StreamingResponse and
Server-Sent Events are streamed, ordinary responses work as usual, lifespan runs once.

    lambdaloop invoke examples/stream_asgi.handler --stream --event function-url    # GET /hello?name=lambdaloop
    lambdaloop invoke examples/stream_asgi.handler --stream \\
        --event "$(lambdaloop events function-url | sed 's#/hello#/clock#')"          # GET /clock, streamed

The answer starts with the HTTP-integration prelude (status, headers, cookies as JSON, then
8 NUL bytes); the body follows as the app sends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from lambdaloop.asgi import handler as asgi_handler


async def hello(request: Request) -> Response:
    return JSONResponse({"hello": request.query_params.get("name", "world")})


async def clock(request: Request) -> Response:
    count = int(request.query_params.get("count", "10"))
    interval = float(request.query_params.get("interval", "0.5"))

    async def events() -> AsyncIterator[str]:
        for i in range(count):
            if i:
                await asyncio.sleep(interval)
            yield f"data: {i}\n\n"  # each event reaches the client as it is sent

    return StreamingResponse(events(), media_type="text/event-stream")


app = Starlette(routes=[Route("/hello", hello), Route("/clock", clock)])
handler = asgi_handler(app)  # FastAPI / Starlette, StreamingResponse and SSE included
