"""aws-xray-sdk in Lambda mode: no segment of its own, a read-only facade built from
``_X_AMZN_TRACE_ID`` on each access, subsegments streamed to the daemon address (a UDP
collector on 127.0.0.1 in the tests)."""

from __future__ import annotations

import os
from typing import Any

from aws_xray_sdk.core import xray_recorder


@xray_recorder.capture("work")
def work(order_id: str) -> str:
    return order_id.upper()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    segment = xray_recorder.current_segment()
    with xray_recorder.in_subsegment("lookup") as sub:
        sub.put_annotation("order", event["id"])
        value = work(event["id"])
    try:
        # The task root is read-only on Lambda: the SDK must not need to write there.
        probe = os.path.join(os.environ["LAMBDA_TASK_ROOT"], ".write-probe")
        with open(probe, "w"):
            pass
        os.remove(probe)  # it could write: leave nothing behind
        task_root_writable = True
    except OSError:
        task_root_writable = False
    return {
        "value": value,
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
        "segment": type(segment).__name__,
        "trace_id": getattr(segment, "trace_id", None),
        "parent_id": getattr(segment, "id", None),
        "sampled": segment.sampled,
        "touch_file": os.path.exists("/tmp/.aws-xray/initialized"),
        "task_root_writable": task_root_writable,
    }
