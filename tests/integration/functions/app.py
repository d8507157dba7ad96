"""Handlers the integration tests run under the RIE (LAMBDA_TASK_ROOT = this directory).

Each handler returns what it observed, so the tests can assert on the RIE's answer alone.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
import time
from decimal import Decimal
from typing import Any

# Counts invokes served by this process: a warm invoke must see it grow.
INVOKES = 0
# Identifies this interpreter instance, whatever the PID reuse does.
BOOT_ID = f"{os.getpid()}-{time.time_ns()}"

logger = logging.getLogger()


class Unserializable:
    pass


def inner_failure(message: str) -> None:
    raise ValueError(message)  # a stack frame the error's stackTrace must show


def middle(message: str) -> None:
    inner_failure(message)


RESULTS: dict[str, Any] = {
    "dict": {"ok": True, "n": 1, "f": 1.5, "nested": {"list": [1, "two", None, False]}},
    "str": "just a string",
    "none": None,
    "bytes": b"\x00raw \xffbytes",
    "unicode": {"text": "caf\u00e9 \u2603 \U0001f600"},
    "decimal": {"price": Decimal("1.50")},
    "list": [1, 2, 3],
    "int": 42,
    "empty_str": "",
    # Marshalling corners where a fast JSON library could part ways with simplejson.
    "tuple": (1, "two"),
    "set": {1, 2},
    "non_str_keys": {1: "int", 2.5: "float", None: "none", False: "bool"},
    "big_int": {"n": 2**70, "neg": -(2**64)},
    "floats": [0.1, 1e-7, 1e22, -0.0, 123456789.123456789],
    "datetime": datetime.datetime(2026, 1, 2, 3, 4, 5),
    "nested_decimal": [Decimal("0.1"), {"d": Decimal("-1E+3")}],
    "control_chars": 'tab\tnl\nquote"back\\slash\x01\u2028',
}


def handler(event: Any, context: Any) -> Any:
    """Dispatch on event["case"]: a result kind from RESULTS, "raise", "unserializable" or "echo"."""
    global INVOKES
    INVOKES += 1
    case = event.get("case") if isinstance(event, dict) else "echo"
    if case == "raise":
        middle(event.get("message", "bad thing"))
    if case == "unserializable":
        return {"value": Unserializable()}
    if case == "echo":
        return event
    if case == "pid":
        return {"pid": os.getpid(), "invokes": INVOKES}
    return RESULTS[case]


def echo(event: Any, context: Any) -> Any:
    return event


def counter(event: Any, context: Any) -> dict[str, Any]:
    global INVOKES
    INVOKES += 1
    return {"invokes": INVOKES, "pid": os.getpid(), "boot": BOOT_ID}


def describe_context(event: Any, context: Any) -> dict[str, Any]:
    """Everything awslambdaric's LambdaContext exposes, with the types that matter."""
    cc = context.client_context
    client = getattr(cc, "client", None) if cc is not None else None
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "memory_type": type(context.memory_limit_in_mb).__name__,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "env_log_group_name": os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME"),
        "env_log_stream_name": os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME"),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "remaining_type": type(context.get_remaining_time_in_millis()).__name__,
        "tenant_id": getattr(context, "tenant_id", "<missing attribute>"),
        "client_context": None
        if cc is None
        else {
            "custom": cc.custom,
            "env": cc.env,
            "client": None
            if client is None
            else {
                name: getattr(client, name)
                for name in (
                    "installation_id",
                    "app_title",
                    "app_version_name",
                    "app_version_code",
                    "app_package_name",
                )
            },
        },
        "identity": {
            "cognito_identity_id": context.identity.cognito_identity_id,
            "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
        },
        "pid": os.getpid(),
    }


def trace(event: Any, context: Any) -> dict[str, Any]:
    """Report _X_AMZN_TRACE_ID as this invoke sees it, then optionally dirty it for the next one."""
    seen = os.environ.get("_X_AMZN_TRACE_ID")
    present = "_X_AMZN_TRACE_ID" in os.environ
    if isinstance(event, dict) and "set" in event:
        os.environ["_X_AMZN_TRACE_ID"] = event["set"]
    return {"trace_id": seen, "present": present}


def sleeper(event: Any, context: Any) -> dict[str, Any]:
    time.sleep(float(event.get("seconds", 0)))
    return {"slept": event.get("seconds", 0), "pid": os.getpid()}


def exiter(event: Any, context: Any) -> Any:
    if event.get("exit") is not None:
        sys.exit(event["exit"])
    return {"pid": os.getpid()}


def big(event: Any, context: Any) -> Any:
    """A str result of event["size"] characters (JSON adds two quotes), or a small answer."""
    size = int(event.get("size", 0))
    if size:
        return "x" * size
    return {"pid": os.getpid(), "small": True}


def logs(event: Any, context: Any) -> dict[str, Any]:
    logger.info("info line %s", event["tag"])
    logger.warning("warning line %s", event["tag"])
    logger.debug("debug line %s", event["tag"])
    print(f"print line {event['tag']}")
    return {"logged": event["tag"]}
