"""The soak benchmark's handlers (``bench/soak.py``): one event kind per thing a long-lived
function does, each checking that it sees its own invocation.

The event is ``{"kind": K}``. Every answer carries ``ok``: the context's request id and the
``_X_AMZN_TRACE_ID`` the code sees (``os.environ``, and the C environment for ``context``)
belong to the same invocation. The fake Runtime API gives invocation n the request id ending
in n (12 decimal digits) and a trace id whose Root ends in n (24 hex digits), so a stale or
shared value shows as ``ok: false``, and soak.py counts it as a bad answer.

``mixed`` is a sync handler (what awslambdaric runs); for lambdaloop it also returns a
coroutine (``async``: awaited on the persistent loop) or a generator (``stream``: a streamed
response). ``mixed_async`` is the same as an ``async def`` handler.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

LOG = logging.getLogger("soak")
PAD = "x" * 100_000  # above the runtimes' 64 KiB single-write limit: the large-body path
STREAM_PIECES = 3


def expected_stream(ok: bool = True) -> bytes:
    return (f"ok={int(ok)};" + "".join(f"piece-{i};" for i in range(STREAM_PIECES))).encode()


def _number(context: Any) -> int:
    return int(context.aws_request_id[-12:])


def _sees_own_trace(context: Any) -> bool:
    trace = os.environ.get("_X_AMZN_TRACE_ID", "")
    return trace.startswith(f"Root=1-5e1b4151-{_number(context):024x};")


_GETENV: Any = None


def _c_trace() -> str | None:
    """The variable as child processes and C libraries read it: libc's getenv."""
    global _GETENV
    if _GETENV is None:
        import ctypes

        _GETENV = ctypes.CDLL(None).getenv
        _GETENV.restype = ctypes.c_char_p
        _GETENV.argtypes = [ctypes.c_char_p]
    value = _GETENV(b"_X_AMZN_TRACE_ID")
    return None if value is None else value.decode()


def _thread_work(n: int, box: list[int]) -> None:
    LOG.debug("thread of invocation %d", n)  # below the level: formatted by nobody
    box.append(sum(range(n % 1000)))


def _sync(kind: str, context: Any) -> dict[str, object]:
    ok = _sees_own_trace(context)
    n = _number(context)
    if kind == "error":
        raise ValueError(f"soak error {n}")
    if kind == "print":
        print(f"soak print {n}")
    elif kind == "logging":
        LOG.warning("soak log %d", n)
    elif kind == "thread":
        box: list[int] = []
        worker = threading.Thread(target=_thread_work, args=(n, box))
        worker.start()
        worker.join()
        ok = ok and box == [sum(range(n % 1000))]
    elif kind == "context":
        ok = ok and _c_trace() == os.environ.get("_X_AMZN_TRACE_ID") and context.get_remaining_time_in_millis() > 0
    elif kind == "large":
        return {"k": kind, "ok": ok, "pad": PAD}
    return {"k": kind, "ok": ok}


async def _async_kind(context: Any) -> dict[str, object]:
    ok = _sees_own_trace(context)
    await asyncio.sleep(0)
    task = asyncio.ensure_future(asyncio.sleep(0, result=_number(context)))
    n = await task
    squared = await asyncio.to_thread(pow, n, 2)  # the loop's default executor: one thread, reused
    LOG.warning("soak async %d", n)
    return {"k": "async", "ok": ok and squared == n * n and _sees_own_trace(context)}


def _stream(ok: bool) -> Iterator[str]:
    yield f"ok={int(ok)};"
    for i in range(STREAM_PIECES):
        yield f"piece-{i};"


async def _astream(ok: bool) -> AsyncIterator[str]:
    yield f"ok={int(ok)};"
    for i in range(STREAM_PIECES):
        await asyncio.sleep(0)
        yield f"piece-{i};"


def mixed(event: dict[str, Any], context: Any) -> Any:
    kind = event["kind"]
    if kind == "async":
        return _async_kind(context)
    if kind == "stream":
        return _stream(_sees_own_trace(context))
    return _sync(kind, context)


async def mixed_async(event: dict[str, Any], context: Any) -> Any:
    kind = event["kind"]
    if kind == "async":
        return await _async_kind(context)
    if kind == "stream":
        return _astream(_sees_own_trace(context))
    return _sync(kind, context)
