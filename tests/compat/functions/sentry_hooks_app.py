"""sentry-sdk wired to lambdaloop's public hooks instead of AwsLambdaIntegration: what a
Sentry user can do on lambdaloop today (MIGRATING.md). Same recording transport."""

from __future__ import annotations

import os
from typing import Any

import sentry_sdk
from sentry_transport import RecordingTransport, delivered

from lambdaloop import hooks

sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=RecordingTransport, traces_sample_rate=0)


@hooks.on_error
def _capture(exc: BaseException, event: Any, context: Any) -> None:
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("aws_request_id", context.aws_request_id)
        sentry_sdk.capture_exception(exc)


@hooks.on_init_error
def _capture_init(exc: BaseException) -> None:
    sentry_sdk.capture_exception(exc)
    sentry_sdk.flush()


@hooks.after_invoke
def _flush(event: Any, context: Any, outcome: Any) -> None:
    # After the response is posted, before the next /next: the invoker does not wait for it
    # and the environment is not frozen before it is done.
    sentry_sdk.flush()


if os.environ.get("COMPAT_FAIL_INIT"):
    raise RuntimeError("configuration is missing")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("fail"):
        raise ValueError(f"bad order {event['fail']}")
    return {"delivered_before": delivered()}
