"""An ``async def`` handler whose module-level asyncio objects only work on one persistent loop."""

from __future__ import annotations

import asyncio
import os
from typing import Any

# Created at import (init), before any loop runs. A Lock binds itself to the loop of its first
# contended use; using it from another loop afterwards raises RuntimeError.
LOCK = asyncio.Lock()
QUEUE: asyncio.Queue[int] = asyncio.Queue()
# A future created by one invoke and awaited by the next: only possible on the same loop.
PENDING: asyncio.Future[str] | None = None
INVOKES = 0
LOOP_IDS: list[int] = []


async def _contend() -> None:
    async with LOCK:
        await asyncio.sleep(0)


async def handler(event: Any, context: Any) -> dict[str, Any]:
    global PENDING, INVOKES
    INVOKES += 1
    loop = asyncio.get_running_loop()
    LOOP_IDS.append(id(loop))
    if event.get("raise"):
        await asyncio.sleep(0)
        raise KeyError(event["raise"])
    # Force contention so the lock and the queue bind to (or are checked against) this loop.
    async with LOCK:
        waiter = asyncio.ensure_future(_contend())
        await asyncio.sleep(0)
    await waiter
    getter = asyncio.ensure_future(QUEUE.get())
    await asyncio.sleep(0)
    QUEUE.put_nowait(INVOKES)
    got = await getter
    previous = None
    if PENDING is not None:
        PENDING.set_result("from the previous invoke")
        previous = await PENDING
    PENDING = loop.create_future()
    return {
        "invokes": INVOKES,
        "queue": got,
        "previous": previous,
        "loop_ids": LOOP_IDS,
        "loop_running": loop.is_running(),
        "pid": os.getpid(),
        "request_id": context.aws_request_id,
    }
