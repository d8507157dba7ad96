"""Handlers for the loop's fault-injection tests."""

import os
import sys

CALLS = {"n": 0}


def echo(event, context):
    CALLS["n"] += 1
    return {
        "event": event,
        "n": CALLS["n"],
        "remaining": context.get_remaining_time_in_millis(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "tenant": context.tenant_id,
    }


# What a sync handler's process must not have paid for, checked after a real start-up
# (extension registration and SIGTERM set-up included) and one invocation.
HEAVY = ("asyncio", "uvloop", "httpx", "http.client", "ssl", "email", "orjson", "json", "re", "enum", "logging",
         "threading", "simplejson", "dataclasses", "typing", "encodings.idna", "signal", "socket", "inspect",
         "decimal")  # fmt: skip


def modules(event, context):
    return sorted(m for m in HEAVY if m in sys.modules)


def unserializable(event, context):
    return {"s": {1, 2}}


def exits(event, context):
    sys.exit(event.get("code", 4))


def dispatch(event, context):
    return globals()[event["fn"]](event, context)


def sync_with_asyncio_run(event, context):
    import asyncio

    async def inner():
        return "ran"

    return asyncio.run(inner())


class Escape(BaseException):
    pass


def base_exception(event, context):
    raise Escape("not an Exception")


async def cancelled(event, context):
    import asyncio

    raise asyncio.CancelledError()


def interrupted(event, context):
    raise KeyboardInterrupt("raised by the handler")


def trace_env(event, context):
    import ctypes

    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    return {"python": os.environ.get("_X_AMZN_TRACE_ID"), "c": (libc.getenv(b"_X_AMZN_TRACE_ID") or b"").decode()}
