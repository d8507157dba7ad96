"""Handlers of bench/lmi.py, run through the RIE's LMI engine (copied to /var/task)."""

import asyncio
import os
import time
from pathlib import Path


async def io_async(event, context):
    """Waits on 100 ms of I/O, as an async function would (awaiting a client call)."""
    await asyncio.sleep(0.1)
    return {"pid": os.getpid()}


def io_sync(event, context):
    """The same wait as awslambdaric's users write it: blocking."""
    time.sleep(0.1)
    return {"pid": os.getpid()}


def cpu(event, context):
    """A fixed amount of pure-Python work (about 20-30 ms here)."""
    total = 0
    for i in range(150_000):
        total += i * i % 7
    return {"pid": os.getpid(), "total": total}


def rendezvous(event, context, extra=None):
    """Answers once ``count`` invocations of batch ``batch`` are in flight at once (or fails
    after 60 s): all of them answered means that many workers were ready together."""
    folder = Path("/tmp") / f"rendezvous-{event['batch']}"
    folder.mkdir(mode=0o777, exist_ok=True)
    (folder / context.aws_request_id).write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while len(os.listdir(folder)) < event["count"]:
        if time.monotonic() > deadline:
            raise TimeoutError("the other invocations never arrived")
        time.sleep(0.002)
    return {"pid": os.getpid(), "extra": extra}
