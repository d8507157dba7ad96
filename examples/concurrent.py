"""Many invocations at once in one process (Lambda Managed Instances, an ``async def`` handler):
each awaits its I/O while the others run, and each keeps its own request id and trace id.

    lambdaloop serve examples/concurrent.handler --concurrency 8
    curl -s localhost:9000/2015-03-31/functions/function/invocations -d '{"wait": 1}'   # 8 of these at once
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import lambdaloop

log = logging.getLogger(__name__)


async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    await asyncio.sleep(float(event.get("wait", 0.5)))  # an HTTP call, a query: the loop serves others meanwhile
    log.info("done")  # this record carries this invocation's request id, whatever ran in between
    return {
        "requestId": context.aws_request_id,
        "traceId": lambdaloop.trace_id(),  # this invocation's; never os.environ in this mode
        "pid": os.getpid(),  # shared by the invocations this process serves
    }
