"""The function Datadog's handler redirection wraps (``DD_LAMBDA_HANDLER=dd_app.handler``)."""

from __future__ import annotations

from typing import Any

from datadog_lambda.metric import lambda_metric


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("fail"):
        raise KeyError("missing order")
    lambda_metric("compat.orders", event.get("orders", 1), tags=[f"channel:{event.get('channel', 'web')}"])
    return {"ok": True, "request_id": context.aws_request_id}
