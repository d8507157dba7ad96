"""SnapStart through the emulator: hooks record what ran, and files in $SNAPSTART_STATE (a
folder the test owns) make them fail or hang, read at hook time, so a test can change what
the next restore of the same snapshot does."""

import os
import random
import time

from snapshot_restore_py import register_after_restore, register_before_snapshot

STATE = os.environ.get("SNAPSTART_STATE", "")
INIT_PID = os.getpid()
INIT_TOKEN = os.urandom(8).hex()  # made once, before the snapshot: every restore has it
events: list[str] = []


def _flag(name: str) -> bool:
    return bool(STATE) and os.path.exists(os.path.join(STATE, name))


def before_1() -> None:
    events.append("before-1")


def before_2() -> None:
    events.append("before-2")
    if _flag("fail-before"):
        raise RuntimeError("before-snapshot hook failed on purpose")


register_before_snapshot(before_1)
register_before_snapshot(before_2)  # before-snapshot hooks run last registered first


@register_after_restore
def after_1() -> None:
    events.append("after-1")
    if _flag("fail-after"):
        raise ValueError("after-restore hook failed on purpose")


@register_after_restore
def after_2() -> None:
    events.append("after-2")
    if _flag("slow-after"):
        time.sleep(60)


def handler(event: dict, context: object) -> dict:
    if event.get("exit"):
        os._exit(3)  # a crash: no error posted
    return {
        "events": events,
        "pid": os.getpid(),
        "init_pid": INIT_PID,
        "token": INIT_TOKEN,
        "random": random.random(),
        "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "log_stream": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
    }
