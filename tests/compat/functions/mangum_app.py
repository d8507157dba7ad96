"""A FastAPI app behind Mangum, whichever Mangum release is first on ``sys.path``
(0.22.0 from the ``compat`` extra; 0.19.0 or 0.20.0 put in front via ``PYTHONPATH``).

Mangum runs the app synchronously: 0.19 and 0.22 with ``loop.run_until_complete()`` on the
thread's event loop, 0.20 with ``asyncio.run()`` per invoke. Both raise inside a running
loop, so they need a sync handler with no loop running, even after a coroutine handler
has run in the same process (``mixed``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from mangum import Mangum
from pydantic import BaseModel

STARTUPS: list[int] = []


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    STARTUPS.append(1)
    yield


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str
    price: float


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"item_id": item_id, "q": q, "mangum": version("mangum"), "startups": len(STARTUPS)}


@app.post("/items", status_code=201)
async def create_item(item: Item) -> dict[str, Any]:
    return {"created": item.model_dump()}


@app.get("/count")
async def count(n: int = 3) -> StreamingResponse:
    """A streamed body: Mangum collects it into one response, lambdaloop's adapter streams it
    as sent; either way the caller gets the same status, headers and bytes."""

    async def lines() -> AsyncIterator[str]:
        for i in range(n):
            await asyncio.sleep(0)
            yield f"{i}\n"

    return StreamingResponse(lines(), media_type="text/plain", headers={"x-count": str(n)})


handler = Mangum(app, lifespan="auto")


def _running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _async_part(event: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(0)
    return {"async": True, "loop": id(asyncio.get_running_loop())}


def mixed(event: dict[str, Any], context: Any) -> Any:
    """Sometimes a coroutine (lambdaloop awaits it on its persistent loop), sometimes Mangum
    called synchronously in the same process."""
    if event.get("mode") == "async":
        return _async_part(event)
    running = _running_loop()
    return {"loop_running_before_mangum": running, "response": handler(event, context)}
