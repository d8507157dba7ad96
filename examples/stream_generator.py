"""Response streaming with a generator: each yielded piece goes out as it is produced.

lambdaloop handler: stream_generator.handler   (Function URL with InvokeMode RESPONSE_STREAM,
or InvokeWithResponseStream; the content type is application/octet-stream)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any


def handler(event: dict[str, Any], context: Any) -> Iterator[bytes | str]:
    for i in range(int(event.get("count", 5))):
        yield f"tick {i}\n"  # str is sent as UTF-8
        time.sleep(0.2)
