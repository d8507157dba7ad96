"""Opt-in throughput codec: ``LAMBDALOOP_JSON=orjson``.

For functions that move large JSON documents. orjson parses a 1 MB event about twice as
fast as the C scanner and writes a 1 MB result about ten times as fast as the C encoder
(BENCHMARKS.md, "JSON serialization"), but its import costs about 17 ms of cold start, and
it writes compact JSON (``{"a":1}``, not awslambdaric's ``{"a": 1}``). Values are the same
JSON; the bytes are not, which is why this is not the default.

Anything orjson refuses goes through the default, exact codec: integers beyond 64 bits
(orjson would silently read them as floats, so events with a long digit run are parsed
exactly), invalid JSON (awslambdaric's error messages), unserializable results.
"""

from __future__ import annotations

import decimal

try:
    import orjson
except ImportError as exc:  # an extra since it is opt-in: say how to get it
    raise ImportError(
        "LAMBDALOOP_JSON=orjson needs orjson: pip install 'lambdaloop[orjson]' "
        "(the lambdaloop layer and base image include it)"
    ) from exc

from .marshal import BYTES_CONTENT_TYPE, JSON_CONTENT_TYPE, marshal_result, unmarshal_event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Digits become "0", everything else " ": a run of 19 zeros marks an integer that may not
# fit in 64 bits (or a long digit run inside a string: then the exact path is merely slower).
_DIGIT_RUNS = bytes.maketrans(bytes(range(256)), b" " * 48 + b"0" * 10 + b" " * 198)
_LONG_RUN = b"0" * 19
_OPTIONS = orjson.OPT_NON_STR_KEYS


def loads_event(body: bytes, content_type: str | None) -> Any:
    if content_type != JSON_CONTENT_TYPE or _LONG_RUN in body.translate(_DIGIT_RUNS):
        return unmarshal_event(body, content_type)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return unmarshal_event(body, content_type)


def _default(value: object) -> Any:
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value)) if value.is_finite() else None
    if isinstance(value, tuple):  # tuple subclasses: namedtuples as objects, as simplejson writes them
        asdict = getattr(value, "_asdict", None)
        return asdict() if callable(asdict) else list(value)
    raise TypeError


def dumps_result(value: Any) -> tuple[bytes, str]:
    if isinstance(value, bytes):
        return value, BYTES_CONTENT_TYPE
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS), JSON_CONTENT_TYPE
    except TypeError:
        return marshal_result(value)
