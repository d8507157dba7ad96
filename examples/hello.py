"""The smallest useful function: an API Gateway-style answer that shows where the request
went and which function served it.

    lambdaloop invoke examples/hello.handler --event apigw-v2
"""

from __future__ import annotations

import json
from typing import Any


def _path(event: dict[str, Any]) -> str:
    # HTTP API (v2) and Function URLs put it in rawPath; REST API (v1) in path.
    return event.get("rawPath") or event.get("path") or "/"


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = {
        "message": f"Hello from {context.function_name}",
        "path": _path(event) if isinstance(event, dict) else "/",
        "requestId": context.aws_request_id,
    }
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
