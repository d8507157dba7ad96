"""Handlers run through the RIE's LMI engine (tests/lmi/rie_lmi.py), as uid 993."""

import json
import os
import time
from pathlib import Path

RENDEZVOUS = Path("/tmp/rendezvous")  # the namespace's fresh /tmp, shared by every worker


def who(event, context):
    """Which process served which invocation, as the runtime saw it."""
    print(json.dumps({"served": context.aws_request_id, "pid": os.getpid()}))
    return {"request_id": context.aws_request_id, "pid": os.getpid(), "uid": os.getuid(), "cwd": os.getcwd()}


def rendezvous(event, context):
    """Answers only once ``count`` invocations are in flight at once (or fails after 30 s):
    it can finish only if the runtime serves them concurrently."""
    RENDEZVOUS.mkdir(mode=0o777, exist_ok=True)
    (RENDEZVOUS / context.aws_request_id).write_text(str(os.getpid()))
    deadline = time.monotonic() + 30
    while len(list(RENDEZVOUS.iterdir())) < event["count"]:
        if time.monotonic() > deadline:
            raise TimeoutError("the other invocations never arrived")
        time.sleep(0.01)
    return who(event, context)


async def async_rendezvous(event, context):
    """The async model: answers once ``count`` invocations are in flight at once, awaiting
    (never blocking the loop), and logs from a task and a thread on the way."""
    import asyncio
    import logging

    import lambdaloop

    log = logging.getLogger("lmi")
    RENDEZVOUS.mkdir(mode=0o777, exist_ok=True)
    (RENDEZVOUS / context.aws_request_id).write_text(str(os.getpid()))
    deadline = time.monotonic() + 30
    while len(list(RENDEZVOUS.iterdir())) < event["count"]:
        if time.monotonic() > deadline:
            raise TimeoutError("the other invocations never arrived")
        await asyncio.sleep(0.01)
    log.warning("tag=%s after-await", context.aws_request_id)
    await asyncio.create_task(asyncio.sleep(0))
    await asyncio.to_thread(log.warning, "tag=%s from-thread", context.aws_request_id)
    if event.get("die") == context.aws_request_id[-1:]:
        os._exit(9)  # a crash of the whole process, with the other invocations in flight
    return {"request_id": context.aws_request_id, "pid": os.getpid(), "trace": lambdaloop.trace_id()}


async def slow(event, context):
    """Holds its slot for a while: what makes a further invoke find no runtime waiting."""
    import asyncio

    await asyncio.sleep(float(event.get("sleep", 1.0)))
    return {"request_id": context.aws_request_id}
