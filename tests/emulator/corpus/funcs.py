"""Handlers invoked through both the real RIE and lambdaloop's emulator."""

import os
import time


def ok(event, context):
    return {"event": event, "function": context.function_name, "memory": context.memory_limit_in_mb}


def boom(event, context):
    raise ValueError("bad thing")


def slow(event, context):
    time.sleep(30)


def die(event, context):
    os._exit(7)


def big(event, context):
    return "x" * (6 * 1024 * 1024 + 200)


def just_fits(event, context):
    # A JSON string of 6 MiB + 100 bytes once quoted: the largest response RAPID accepts.
    return "y" * (6 * 1024 * 1024 + 98)


def context_seen(event, context):
    custom = context.client_context.custom if context.client_context else None
    return {
        "requestId": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "traceEnv": os.environ.get("_X_AMZN_TRACE_ID"),
        "clientContext": custom,
        "tenant": getattr(context, "tenant_id", None),
        "remainingPositive": context.get_remaining_time_in_millis() > 0,
        "taskRoot": os.environ.get("LAMBDA_TASK_ROOT"),
        "handlerEnv": os.environ.get("_HANDLER"),
    }
