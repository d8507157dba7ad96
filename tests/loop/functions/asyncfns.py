"""An async handler with state created at init, the way real clients are."""

import asyncio

LOCK = asyncio.Lock()
LOOPS = []


async def handler(event, context):
    async with LOCK:
        await asyncio.sleep(0)
        LOOPS.append(id(asyncio.get_running_loop()))
    if event.get("then_sync"):
        return {"loops": LOOPS, "flavour": type(asyncio.get_running_loop()).__module__}
    return {"loops": LOOPS, "flavour": type(asyncio.get_running_loop()).__module__}
