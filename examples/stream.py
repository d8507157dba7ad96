"""A streaming handler: each piece reaches the caller as it is yielded.

lambdaloop invoke examples/stream.handler --stream --event '{"count": 5, "delay": 0.3}'
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any


def handler(event: dict[str, Any], context: Any) -> Iterator[str]:
    count = int(event.get("count", 3))
    delay = float(event.get("delay", 0.2))
    for i in range(1, count + 1):
        yield f"chunk {i} of {count}\n"
        if i < count:
            time.sleep(delay)


def fail_midway(event: dict[str, Any], context: Any) -> Iterator[str]:
    yield "first part\n"
    raise RuntimeError("the stream broke")
