"""An HTTP response for a Function URL (InvokeMode RESPONSE_STREAM) or API Gateway streaming:
status, headers and cookies once, then a streamed body. Set-Cookie headers become cookies.

    lambdaloop invoke examples/stream_http.handler --stream --event function-url   # a CSV export
    lambdaloop invoke examples/stream_http.sse --stream --event function-url       # Server-Sent Events

The caller (and ``lambdaloop invoke --stream``) gets the HTTP-integration prelude first: the
status, headers and cookies as JSON, then 8 NUL bytes, then the body. Function URLs and API
Gateway turn that into the HTTP response.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from lambdaloop.streaming import HttpResponse, ResponseStream, streaming


def _query(event: dict[str, Any], name: str, default: str) -> str:
    return (event.get("queryStringParameters") or {}).get(name, default)


def handler(event: dict[str, Any], context: Any) -> HttpResponse:
    def rows() -> Iterator[str]:  # produced while the client is already downloading
        yield "id,square\n"
        for i in range(int(_query(event, "rows", "10000"))):
            yield f"{i},{i * i}\n"

    # Function URL / API Gateway streaming: status and headers first, then the body.
    return HttpResponse(
        rows(),
        status_code=200,
        headers={"content-type": "text/csv", "content-disposition": 'attachment; filename="squares.csv"'},
        cookies=["export=1; Secure; HttpOnly"],
    )


@streaming
def sse(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.start_http_response(200, {"content-type": "text/event-stream", "cache-control": "no-cache"})
    response_stream.write(b"")  # sends the status and headers now, before the first event
    interval = float(_query(event, "interval", "1"))
    for i in range(int(_query(event, "count", "5"))):
        if i:
            time.sleep(interval)
        response_stream.write(f"event: tick\ndata: {i}\n\n")
