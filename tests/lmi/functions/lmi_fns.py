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
