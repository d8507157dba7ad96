"""Handlers for the streaming wire tests, run by a real ``python -m lambdaloop`` process."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from lambdaloop.streaming import HttpResponse, ResponseStream, streaming


def _wait_for(path: str, timeout: float = 10.0) -> None:
    """Block until the test creates ``path``: proves the chunks before it left already."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the test never opened the gate {path}")
        time.sleep(0.005)


# -- generators ----------------------------------------------------------------------------


def gen(event: dict[str, Any], context: Any) -> Iterator[bytes | str]:
    yield b"one,"
    yield "two,"
    yield ""  # must not end the chunked body
    yield "tr\u00e9s"


def gated_gen(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    yield b"first"
    _wait_for(event["gate"])
    yield b"second"


async def agen(event: dict[str, Any], context: Any) -> AsyncIterator[bytes]:
    for i in range(3):
        await asyncio.sleep(0)
        yield f"a{i};".encode()


def gen_fails_before_first(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    raise ValueError("nothing to stream")
    yield b"never"  # a generator all the same


def gen_fails_midway(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    yield b"partial"
    raise KeyError("lost the rest")


async def agen_fails_midway(event: dict[str, Any], context: Any) -> AsyncIterator[bytes]:
    yield b"async partial"
    await asyncio.sleep(0)
    raise RuntimeError("async producer died")


def gen_bad_item(event: dict[str, Any], context: Any) -> Iterator[Any]:
    yield b"ok"
    yield 42


def gen_exits_midway(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    yield b"bye"
    sys.exit(3)


def gen_deep_error(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    def down(n: int) -> None:
        if n == 0:
            raise ValueError("x" * 200_000)
        down(n - 1)

    yield b"start"
    down(300)


def big(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    """``event["mb"]`` MiB in ``event["chunk"]``-byte pieces, one buffer reused."""
    piece = b"x" * event.get("chunk", 1 << 20)
    remaining = event["mb"] << 20
    while remaining > 0:
        yield piece if remaining >= len(piece) else piece[:remaining]
        remaining -= len(piece)


def rss(event: dict[str, Any], context: Any) -> dict[str, int]:
    with open(f"/proc/{os.getpid()}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def buffered(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"buffered": True, "event": event}


def empty_gen(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    return
    yield b""


# -- the writer ----------------------------------------------------------------------------


@streaming(content_type="text/plain; charset=utf-8")
def writer(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.write("hello ")
    response_stream.write(b"writer")


@streaming
async def async_writer(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.set_content_type("text/event-stream")
    for i in range(3):
        response_stream.write(f"data: {i}\n\n")
        await asyncio.sleep(0.001)


@streaming
def writer_gated(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.write(b"first")
    _wait_for(event["gate"])
    response_stream.write(b"second")


@streaming
def writer_closes_early(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.write(b"done")
    response_stream.close()
    raise RuntimeError("after close")


@streaming
def writer_fails_before_first(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.set_content_type("text/plain")
    raise LookupError("no rows")


@streaming
def writer_type_after_write(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.write(b"x")
    response_stream.set_content_type("text/plain")


@streaming
def writer_bad_write(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.write({"not": "bytes"})  # type: ignore[arg-type]


@streaming
def writer_generator(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> Iterator[str]:
    response_stream.set_content_type("text/csv")
    yield "a,b\n"
    yield "1,2\n"


@streaming
def writer_over_limit(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    piece = b"y" * (8 << 20)
    try:
        while True:
            response_stream.write(piece)
    except Exception:
        pass  # swallowed on purpose: the runtime must still fail the invocation
    response_stream.write(b"more after the limit")


# -- HTTP ----------------------------------------------------------------------------------


def http_gen(event: dict[str, Any], context: Any) -> HttpResponse:
    def body() -> Iterator[str]:
        yield "<p>"
        yield "hi</p>"

    return HttpResponse(
        body(),
        status_code=201,
        headers=[("Content-Type", "text/html"), ("Set-Cookie", "a=1"), ("X-Multi", "1"), ("x-multi", "2")],
        cookies=["b=2; Secure"],
    )


def http_empty(event: dict[str, Any], context: Any) -> HttpResponse:
    return HttpResponse(status_code=204, headers={"x-empty": "yes"})


def http_async_body(event: dict[str, Any], context: Any) -> HttpResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"async "
        await asyncio.sleep(0)
        yield b"http"

    return HttpResponse(body(), headers={"content-type": "text/plain"})


def http_bad_header(event: dict[str, Any], context: Any) -> HttpResponse:
    return HttpResponse(b"x", headers={"x-bad": "a\r\nInjected: 1"})


def http_fails_midway(event: dict[str, Any], context: Any) -> HttpResponse:
    def body() -> Iterator[bytes]:
        yield b"half"
        raise OSError("disk gone")

    return HttpResponse(body(), status_code=200, headers={"content-type": "text/plain"})


@streaming
def http_writer(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.start_http_response(202, {"content-type": "text/plain", "set-cookie": "s=1"})
    response_stream.write(b"")  # commits status and headers now
    _wait_for(event["gate"])
    response_stream.write(b"body")


@streaming
def http_writer_empty(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.start_http_response(404, {"x-reason": "none"})
    response_stream.close()  # no write at all: the prelude still goes out (Node's bug #97)


@streaming
def http_writer_fails_in_prelude(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.start_http_response(999, {})


def maybe_stream(event: dict[str, Any], context: Any) -> Any:
    """Buffered or streamed, per invocation, in the same process."""
    if event.get("buffered"):
        return {"n": event["n"]}
    return (piece for piece in (b"streamed ", str(event["n"]).encode()))


def slow_pair(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    yield b"early "
    time.sleep(event["pause"])
    yield b"late"


# -- for bench/streaming.py --------------------------------------------------------------------


def blast(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    """``event["mib"]`` MiB in ``event["chunk"]``-byte writes of one reused buffer."""
    piece = b"\xab" * event["chunk"]
    for _ in range((event["mib"] << 20) // len(piece)):
        yield piece


def first_byte(event: dict[str, Any], context: Any) -> Iterator[bytes]:
    """The first chunk is the CLOCK_MONOTONIC time of its own yield (system-wide on Linux,
    so the invoking process can subtract it from its receive time)."""
    yield b"%d" % time.monotonic_ns()
    time.sleep(event.get("gap", 0.002))  # keeps the end of the body apart from the first chunk
    yield b";end"
