"""Async handlers for the concurrent (Lambda Managed Instances) tests: each reports what it saw
of its own invocation, from its task, from tasks it starts and from a worker thread."""

import asyncio
import logging
import os
import sys
import time

import lambdaloop

log = logging.getLogger("asyncslots")


async def _from_task(tag: str) -> str:
    await asyncio.sleep(0.01)
    log.info("%s from-task", tag)
    return lambdaloop.trace_id() or ""


def _from_thread(tag: str) -> str:
    log.info("%s from-thread", tag)
    return lambdaloop.trace_id() or ""


async def handler(event, context):
    tag = event.get("tag", context.aws_request_id)
    started = time.time()
    log.info("%s before-await", tag)
    await asyncio.sleep(float(event.get("sleep", 0.3)))
    log.info("%s after-await", tag)
    from_task = await asyncio.create_task(_from_task(tag))
    from_thread = await asyncio.to_thread(_from_thread, tag)
    if event.get("exit") is not None:
        sys.exit(event["exit"])
    if event.get("block"):
        time.sleep(float(event["block"]))  # blocks the event loop: the watchdog's case
    return {
        "request_id": context.aws_request_id,
        "trace": lambdaloop.trace_id(),
        "trace_in_task": from_task,
        "trace_in_thread": from_thread,
        "env_trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "pid": os.getpid(),
        "start": started,
        "end": time.time(),
    }


def sync_handler(event, context):
    return {"pid": os.getpid(), "request_id": context.aws_request_id}


async def otel_trace(event, context):
    """The README's recipe: OpenTelemetry's X-Ray propagator reads this invocation's trace id."""
    from opentelemetry import trace
    from opentelemetry.propagators.aws import AwsXRayPropagator

    await asyncio.sleep(0.05)
    carrier = {"X-Amzn-Trace-Id": lambdaloop.trace_id()}
    span_context = trace.get_current_span(AwsXRayPropagator().extract(carrier)).get_span_context()
    return {"trace_id": f"{span_context.trace_id:032x}", "parent_id": f"{span_context.span_id:016x}"}


async def streams(event, context):
    """A streamed answer from the concurrent model: a sync generator, an async generator, or one
    that fails after its first piece; each piece says whose invocation produced it."""
    kind = event.get("kind", "sync")
    await asyncio.sleep(0.2)

    def pieces():
        for i in range(3):
            log.info("piece %s", i)
            yield f"{context.aws_request_id}:{i};"

    async def async_pieces():
        for i in range(3):
            await asyncio.sleep(0.05)
            log.info("piece %s", i)
            yield f"{context.aws_request_id}:{i};"

    def failing():
        yield f"{context.aws_request_id}:0;"
        raise ValueError("cut")

    return {"sync": pieces, "async": async_pieces, "fail": failing}[kind]()
