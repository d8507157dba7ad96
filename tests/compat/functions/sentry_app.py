"""sentry-sdk with its AwsLambdaIntegration, sending nowhere (``sentry_transport``)."""

from __future__ import annotations

import os
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.aws_lambda import AwsLambdaIntegration
from sentry_transport import RecordingTransport, delivered

sentry_sdk.init(
    dsn="https://public@sentry.invalid/1",  # never contacted: the transport above replaces HTTP
    transport=RecordingTransport,
    integrations=[AwsLambdaIntegration()],
    traces_sample_rate=1.0,
    default_integrations=True,
)

if os.environ.get("COMPAT_FAIL_INIT"):
    raise RuntimeError("configuration is missing")


def _found_bootstrap() -> bool:
    """What AwsLambdaIntegration.setup_once checks before patching anything."""
    from sentry_sdk.integrations.aws_lambda import get_lambda_bootstrap

    return hasattr(get_lambda_bootstrap(), "handle_event_request")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("fail"):
        raise ValueError(f"bad order {event['fail']}")
    # What Sentry had delivered before this invoke began: the previous invoke's events are
    # there only if the runtime drained Sentry's queue after answering it, before /next.
    return {"found_bootstrap": _found_bootstrap(), "delivered_before": delivered()}
