"""Handlers for Lambda Managed Instances mode (several worker processes)."""

import os
import time
from pathlib import Path


def rendezvous(event, context):
    # Every invocation waits until `count` of them are in flight at once: this can only
    # finish if the workers really run in parallel.
    folder = Path(event["dir"])
    (folder / str(os.getpid())).write_text("here")
    deadline = time.monotonic() + 30
    while len(list(folder.iterdir())) < event["count"]:
        if time.monotonic() > deadline:
            raise TimeoutError("the other workers never arrived")
        time.sleep(0.01)
    return os.getpid()


def crash(event, context):
    if event.get("crash"):
        os._exit(9)
    return os.getpid()
