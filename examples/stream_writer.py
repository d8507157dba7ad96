"""Response streaming with an explicit writer, as Node's ``awslambda.streamifyResponse``:
``handler(event, response_stream, context)``, sync or async.

    lambdaloop invoke examples/stream_writer.handler --stream
"""

from __future__ import annotations

import asyncio
from typing import Any

from lambdaloop.streaming import ResponseStream, streaming


@streaming(content_type="text/plain; charset=utf-8")  # a writer, for code that pushes (sync or async)
async def handler(event: dict[str, Any], response_stream: ResponseStream, context: Any) -> None:
    response_stream.write("thinking")  # str goes out as UTF-8, bytes as they are
    for _ in range(int(event.get("steps", 3))):
        await asyncio.sleep(float(event.get("delay", 0.3)))  # on the persistent loop: clients made at init survive
        response_stream.write(b".")
    response_stream.write(" done\n")
    # Returning ends the response; response_stream.close() ends it earlier if there is
    # work left that the client need not wait for.
