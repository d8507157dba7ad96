"""The HTTP prelude of a streamed response, as pure functions: Function URLs
(``InvokeMode: RESPONSE_STREAM``) and API Gateway's streaming integration. The user-facing
``HttpResponse`` that uses it is in ``lambdaloop.streaming``.

The body of such a response is ``application/vnd.awslambda.http-integration-response``: a
JSON prelude (status code, headers, cookies), 8 NUL bytes, then the payload. The prelude
is built here as a pure function, validated when the status and headers are given (so a
bad header fails the invocation through ``/error``, before any byte), and written by the
response stream at its first write *or* at its close: an empty body still carries its
status and headers (the Node runtime loses them, its open bug #97).

Header rules, as Go's ``lambdaurl`` and Rust's ``lambda_http`` apply them: names are
lower-cased, ``Set-Cookie`` headers move to ``cookies`` (a header map cannot hold several),
other repeated headers are joined with ", ".
"""

from __future__ import annotations

from collections.abc import Mapping

from . import protocol
from .marshal import to_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    HeaderValue = str | bytes | int
    HeadersArg = Mapping[str, HeaderValue] | Iterable[tuple[str | bytes, HeaderValue]] | None


def _text(value: object, what: str) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        text = value.decode("latin-1")  # ASGI's header encoding
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        raise TypeError(f"HTTP {what} must be str or bytes, not {type(value).__name__}")
    # CR, LF or NUL would let a value forge another header at the HTTP frontend.
    if "\r" in text or "\n" in text or "\x00" in text:
        raise ValueError(f"HTTP {what} contains CR, LF or NUL: {text[:80]!r}")
    return text


def normalize_headers(headers: HeadersArg, cookies: Iterable[str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Headers (a mapping or ASGI-style pairs) and cookies as the prelude carries them."""
    out: dict[str, str] = {}
    jar = [_text(cookie, "cookie") for cookie in cookies or ()]
    pairs: Iterable[tuple[str | bytes, HeaderValue]]
    if headers is None:
        pairs = ()
    elif isinstance(headers, Mapping):
        pairs = headers.items()
    else:
        pairs = headers
    for raw_name, raw_value in pairs:
        name = _text(raw_name, "header name").strip().lower()
        if not name or ":" in name or " " in name:
            raise ValueError(f"bad HTTP header name {raw_name!r}")
        value = _text(raw_value, f"header {name!r}")
        if name == "set-cookie":
            jar.append(value)
        elif name in out:
            out[name] = f"{out[name]}, {value}"
        else:
            out[name] = value
    return out, jar


def http_prelude(status_code: int, headers: HeadersArg = None, cookies: Iterable[str] | None = None) -> bytes:
    """The prelude JSON followed by the 8-NUL delimiter. All three fields are always
    present (API Gateway and Function URLs both accept that; Go's omitted fields default
    to the same values). JSON escapes control characters, so the prelude itself never
    contains the NUL that ends it."""
    if isinstance(status_code, bool) or not isinstance(status_code, int) or not 100 <= status_code <= 599:
        raise ValueError(f"HTTP status code must be an int from 100 to 599, not {status_code!r}")
    header_map, jar = normalize_headers(headers, cookies)
    prelude = {"statusCode": status_code, "headers": header_map, "cookies": jar}
    return to_json(prelude, ascii_only=True).encode("ascii") + protocol.HTTP_PRELUDE_DELIMITER
