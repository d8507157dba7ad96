"""An HTTP response for a Function URL (InvokeMode RESPONSE_STREAM) or API Gateway streaming:
status, headers and cookies once, then a streamed body. Set-Cookie headers become cookies.

    lambdaloop handler: stream_http.handler       (a CSV export, streamed)
                        stream_http.sse           (Server-Sent Events through the writer)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from lambdaloop.streaming import HttpResponse, ResponseStream, streaming


def handler(event: dict[str, Any], context: Any) -> HttpResponse:
    def rows() -> Iterator[str]:
        yield "id,square\n"
        for i in range(10_000):
            yield f"{i},{i * i}\n"

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
    for i in range(5):
        response_stream.write(f"event: tick\ndata: {i}\n\n")
        time.sleep(1)
