"""A real Starlette app behind ``lambdaloop.asgi``, for the ASGI wire tests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from lambdaloop.asgi import handler as asgi_handler

STARTUPS = 0
LOOPS: set[int] = set()


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
    global STARTUPS
    STARTUPS += 1
    yield {"started_at": STARTUPS}


async def hello(request: Request) -> Response:
    LOOPS.add(id(asyncio.get_running_loop()))
    return PlainTextResponse("hello")


async def echo(request: Request) -> Response:
    body = await request.body()
    response = JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params.multi_items()),
            "body": body.decode("latin-1"),
            "cookies": request.cookies,
            "ua": request.headers.get("user-agent"),
            "client": request.client.host if request.client else None,
        },
        status_code=201,
    )
    response.set_cookie("seen", "1")
    response.set_cookie("other", "2")
    return response


async def sse(request: Request) -> Response:
    gate = request.query_params.get("gate")

    async def events() -> AsyncIterator[str]:
        yield "data: first\n\n"
        if gate:
            while not os.path.exists(gate):
                await asyncio.sleep(0.005)
        for i in range(2):
            yield f"data: {i}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


async def broken_stream(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"partial"
        raise RuntimeError("stream source failed")

    return StreamingResponse(body(), media_type="text/plain")


async def boom(request: Request) -> Response:
    raise ZeroDivisionError("handler bug")


async def state(request: Request) -> Response:
    LOOPS.add(id(asyncio.get_running_loop()))
    return JSONResponse({"startups": STARTUPS, "state": request.state.started_at, "loops": len(LOOPS)})


async def background(request: Request) -> Response:
    async def later() -> None:
        await asyncio.sleep(0.3)

    return PlainTextResponse("sent before the task", background=BackgroundTask(later))


async def empty(request: Request) -> Response:
    return Response(status_code=204, headers={"x-empty": "1"})


app = Starlette(
    routes=[
        Route("/", hello),
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/sse", sse),
        Route("/broken", broken_stream),
        Route("/boom", boom),
        Route("/state", state),
        Route("/background", background),
        Route("/empty", empty),
    ],
    lifespan=lifespan,
)

handler = asgi_handler(app)

# The same app answering with classic proxy responses (API Gateway, buffered Function URLs).
buffered_handler = asgi_handler(app, streaming=False)
