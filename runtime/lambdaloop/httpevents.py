"""HTTP invocation events as requests: Function URL / API Gateway HTTP API (payload 2.0)
and API Gateway REST API (payload 1.0). Pure functions: an event dict in, an ``HttpRequest``
out, or ``UnsupportedEvent`` with a message that names what arrived instead.

API Gateway may also invoke a streaming function with events that are not proxy requests
(a REST API test invoke, a custom integration): those must fail with a clear error, never a KeyError.
"""

from __future__ import annotations

from base64 import b64decode
from binascii import Error as BinasciiError
from urllib.parse import quote, unquote, urlencode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class UnsupportedEvent(ValueError):
    """The invocation event is not an HTTP request this adapter understands."""


class HttpRequest:
    """One HTTP request, in the terms an ASGI scope needs."""

    __slots__ = ("body", "client", "headers", "method", "path", "query_string", "raw_path", "scheme", "server")

    def __init__(
        self,
        method: str,
        raw_path: str,
        query_string: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        client: tuple[str, int] | None,
    ) -> None:
        self.method = method.upper()
        self.raw_path = raw_path or "/"
        self.path = unquote(self.raw_path)
        self.query_string = query_string.encode("latin-1", "replace")
        self.headers = headers
        self.body = body
        self.client = client
        values = {name: value for name, value in headers}
        self.scheme = values.get(b"x-forwarded-proto", b"https").decode("latin-1")
        host = values.get(b"host", b"localhost").decode("latin-1")
        port = values.get(b"x-forwarded-port", b"443" if self.scheme == "https" else b"80").decode("latin-1")
        self.server = (host.rsplit(":", 1)[0] if ":" in host and not host.endswith("]") else host, int(port or 0))

    def __repr__(self) -> str:
        return f"HttpRequest({self.method} {self.raw_path}?{self.query_string.decode('latin-1')})"


def parse_http_event(event: object) -> HttpRequest:
    if not isinstance(event, dict):
        raise UnsupportedEvent(
            f"expected an HTTP event (Function URL, API Gateway), got a {type(event).__name__} event"
        )
    context = event.get("requestContext")
    if event.get("version") == "2.0" and isinstance(context, dict) and isinstance(context.get("http"), dict):
        return _from_v2(event, context)
    if isinstance(event.get("httpMethod"), str):
        return _from_v1(event, context if isinstance(context, dict) else {})
    keys = ", ".join(sorted(str(key) for key in event)[:12]) or "none"
    raise UnsupportedEvent(
        "expected an HTTP event: a Function URL or API Gateway payload 2.0 event (version, requestContext.http) "
        f"or an API Gateway REST event (httpMethod); this event has keys: {keys}"
    )


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise UnsupportedEvent(f"the event's body must be a string, not {type(body).__name__}")
    if event.get("isBase64Encoded"):
        try:
            return b64decode(body, validate=True)
        except BinasciiError as exc:
            raise UnsupportedEvent(f"the event says isBase64Encoded but its body is not base64: {exc}") from None
    return body.encode("utf-8")


def _header_pairs(items: Any) -> list[tuple[bytes, bytes]]:
    pairs: list[tuple[bytes, bytes]] = []
    if not isinstance(items, dict):
        return pairs
    for name, value in items.items():
        values = value if isinstance(value, list) else [value]
        for one in values:
            if one is None:
                continue
            pairs.append((str(name).lower().encode("latin-1", "replace"), str(one).encode("latin-1", "replace")))
    return pairs


def _from_v2(event: dict[str, Any], context: dict[str, Any]) -> HttpRequest:
    http = context["http"]
    headers = _header_pairs(event.get("headers"))
    cookies = event.get("cookies")
    if isinstance(cookies, list) and cookies:
        # Payload 2.0 takes cookies out of the headers; an app reads them from "cookie".
        headers = [(n, v) for n, v in headers if n != b"cookie"]
        headers.append((b"cookie", "; ".join(str(c) for c in cookies).encode("latin-1", "replace")))
    source_ip = http.get("sourceIp")
    return HttpRequest(
        method=str(http.get("method") or "GET"),
        raw_path=str(event.get("rawPath") or http.get("path") or "/"),
        query_string=str(event.get("rawQueryString") or ""),
        headers=headers,
        body=_body(event),
        client=(str(source_ip), 0) if source_ip else None,
    )


def _from_v1(event: dict[str, Any], context: dict[str, Any]) -> HttpRequest:
    multi_headers = event.get("multiValueHeaders")
    headers = _header_pairs(multi_headers if multi_headers else event.get("headers"))
    multi_query = event.get("multiValueQueryStringParameters")
    single_query = event.get("queryStringParameters") or {}
    query = urlencode(multi_query, doseq=True) if multi_query else urlencode(single_query)
    identity = context.get("identity")
    source_ip = identity.get("sourceIp") if isinstance(identity, dict) else None
    # REST events carry the path decoded; quote it back so raw_path is a real raw path.
    return HttpRequest(
        method=str(event["httpMethod"]),
        raw_path=quote(str(event.get("path") or "/"), safe="/:@!$&'()*+,;=-._~"),
        query_string=query,
        headers=headers,
        body=_body(event),
        client=(str(source_ip), 0) if source_ip else None,
    )
