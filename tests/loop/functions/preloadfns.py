"""A function whose init is observable: the module body and the after_fork hook each append a
line to the file named by PRELOAD_MARK, and the module starts a thread at import."""

import asyncio
import os
import threading

from lambdaloop import hooks

MARK = os.environ["PRELOAD_MARK"]


def _mark(what: str) -> None:
    with open(MARK, "a") as f:
        f.write(f"{what} {os.getpid()}\n")


_mark("import")
threading.Thread(target=threading.Event().wait, name="poller-made-at-import", daemon=True).start()
FORKED = []


@hooks.after_fork
def reopen() -> None:
    FORKED.append(os.getpid())
    _mark("after_fork")


def handler(event, context):
    return {"pid": os.getpid(), "after_fork_here": [os.getpid()] == FORKED}


async def async_handler(event, context):
    await asyncio.sleep(0.05)
    return {"pid": os.getpid(), "after_fork_here": [os.getpid()] == FORKED}
