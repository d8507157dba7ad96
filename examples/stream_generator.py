"""Response streaming with a generator: each yielded piece goes out as it is produced, the way
a language model's tokens should reach the caller (Function URL with InvokeMode
RESPONSE_STREAM, or InvokeWithResponseStream; the content type is application/octet-stream).

    lambdaloop invoke examples/stream_generator.handler --stream --event '{"prompt": "why is the sky blue"}'
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any


def generate(prompt: str, delay: float) -> Iterator[str]:
    """A stand-in for a model: one token at a time, each after a little work."""
    for word in f"You asked: {prompt}".split():
        time.sleep(delay)
        yield word + " "


def handler(event: dict[str, Any], context: Any) -> Iterator[str]:
    # A generator streams: each piece is sent as it is produced (str goes out as UTF-8).
    yield from generate(event.get("prompt", "hello"), float(event.get("delay", 0.2)))
