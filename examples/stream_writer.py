"""Response streaming with an explicit writer, as Node's ``awslambda.streamifyResponse``:
``handler(event, response_stream, context)``, sync or async.

    lambdaloop handler: stream_writer.handler
"""

from __future__ import annotations

import asyncio
from typing import Any

from lambdaloop.streaming import ResponseStream, streaming


@streaming(content_type="text/plain; charset=utf-8")
async def handler(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.write("thinking")
    for _ in range(3):
        await asyncio.sleep(0.3)  # the persistent event loop: clients made at init survive
        response_stream.write(".")
    response_stream.write(" done\n")
    # Returning ends the response; response_stream.close() ends it earlier if there is
    # work left that the client need not wait for.
