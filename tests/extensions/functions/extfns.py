"""Handlers for the extension tests. Each writes what happened, as JSON lines, to the file
named by EXT_TEST_OUT, so the test reads facts rather than parsing logs."""

from __future__ import annotations

import atexit
import json
import os
import signal
import time

from lambdaloop import hooks


def record(kind: str, **fields: object) -> None:
    path = os.environ.get("EXT_TEST_OUT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, "pid": os.getpid(), "t": time.time(), **fields}) + "\n")


def echo(event: object, context: object) -> object:
    print(f"function says {event!r}")
    return event


@hooks.before_invoke
def _before(event: object, context: object) -> None:
    record("before_invoke", request_id=getattr(context, "aws_request_id", None))


@hooks.after_invoke
def _after(event: object, context: object, outcome: hooks.Outcome) -> None:
    record("after_invoke", request_id=getattr(context, "aws_request_id", None), ok=outcome.ok)


@hooks.on_shutdown
def _on_shutdown() -> None:
    delay = float(os.environ.get("EXT_TEST_SHUTDOWN_SLEEP", "0"))
    record("on_shutdown_start")
    time.sleep(delay)
    record("on_shutdown_end")


if os.environ.get("EXT_TEST_USER_SIGTERM") == "1":

    def _user_sigterm(signum: int, frame: object) -> None:
        record("user_sigterm", signum=signum)

    signal.signal(signal.SIGTERM, _user_sigterm)


# A clean interpreter exit runs this; SIGKILL does not: the tests tell the two apart by it.
atexit.register(lambda: record("atexit"))
