"""The function the OpenTelemetry layer wraps: a child span inside the Lambda span."""

from __future__ import annotations

from typing import Any

from opentelemetry import trace

tracer = trace.get_tracer(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with tracer.start_as_current_span("work") as span:
        span.set_attribute("order.id", str(event.get("id")))
        if event.get("fail"):
            raise RuntimeError("work failed")
        parent = trace.get_current_span().get_span_context()
        return {"statusCode": 200, "body": f"{parent.trace_id:032x}"}
