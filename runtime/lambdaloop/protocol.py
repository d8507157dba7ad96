"""The Runtime API (2018-06-01) as data: bytes and headers in, values and bytes out.

Nothing here touches a socket, the clock or the environment, so the runtime loop, the
extension client and the emulator all share it, and it is tested with plain bytes.

Header names and order on the requests we build follow what awslambdaric 4.2.2 sends
(as observed on the wire; tests/conformance compares them), so a recording Runtime API sees the same
bytes from both runtimes, apart from the User-Agent and the error-type header that
awslambdaric forgets on ``/error``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

API_VERSION = "2018-06-01"
RUNTIME_PREFIX = f"/{API_VERSION}/runtime"
NEXT_PATH = f"{RUNTIME_PREFIX}/invocation/next"
INIT_ERROR_PATH = f"{RUNTIME_PREFIX}/init/error"
RESTORE_NEXT_PATH = f"{RUNTIME_PREFIX}/restore/next"
RESTORE_ERROR_PATH = f"{RUNTIME_PREFIX}/restore/error"

# Headers of a /next answer, lower-cased as the transport hands them over.
H_REQUEST_ID = "lambda-runtime-aws-request-id"
H_DEADLINE_MS = "lambda-runtime-deadline-ms"
H_FUNCTION_ARN = "lambda-runtime-invoked-function-arn"
H_TRACE_ID = "lambda-runtime-trace-id"
H_CLIENT_CONTEXT = "lambda-runtime-client-context"
H_COGNITO_IDENTITY = "lambda-runtime-cognito-identity"
H_TENANT_ID = "lambda-runtime-aws-tenant-id"
H_INVOCATION_ID = "lambda-runtime-invocation-id"
H_CONTENT_TYPE = "content-type"

# Headers of the requests the runtime sends.
H_ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
H_ERROR_BODY = "Lambda-Runtime-Function-Error-Body"
H_XRAY_CAUSE = "lambda-runtime-function-xray-error-cause"
H_RESPONSE_MODE = "Lambda-Runtime-Function-Response-Mode"

JSON_CONTENT_TYPE = "application/json"
BYTES_CONTENT_TYPE = "application/unknown"
# awslambdaric's C++ client blanks an X-Ray cause of 1 MiB or more (curl then drops the
# header); the platform keeps at most 64 KiB of it anyway.
XRAY_CAUSE_LIMIT = 1024 * 1024
# RAPID's buffered payload limit: 6 MiB + 100 bytes (interop/model.go MaxPayloadSize).
MAX_BUFFERED_PAYLOAD = 6 * 1024 * 1024 + 100


class ProtocolError(Exception):
    """A /next answer that cannot be turned into an invocation at all."""


class Invocation:
    """One event as the Runtime API delivered it; raw, not yet unmarshalled.

    A plain class with slots: ``dataclasses`` costs about 10 ms of import at cold start.
    """

    __slots__ = (
        "body", "client_context", "cognito_identity", "content_type", "deadline_ms", "invocation_id",
        "invoked_function_arn", "request_id", "tenant_id", "trace_id", "warnings",
    )  # fmt: skip

    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        invoked_function_arn: str,
        trace_id: str | None,
        client_context: str | None,
        cognito_identity: str | None,
        tenant_id: str | None,
        invocation_id: str | None,
        content_type: str | None,
        body: bytes,
        warnings: tuple[str, ...] = (),
    ) -> None:
        self.request_id = request_id
        self.deadline_ms = deadline_ms
        self.invoked_function_arn = invoked_function_arn
        self.trace_id = trace_id
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.tenant_id = tenant_id
        self.invocation_id = invocation_id
        self.content_type = content_type
        self.body = body
        # Problems found in the headers that did not stop the invocation (logged by the loop).
        self.warnings = warnings

    def __repr__(self) -> str:
        return (
            f"Invocation(request_id={self.request_id!r}, deadline_ms={self.deadline_ms}, body={len(self.body)} bytes)"
        )


def _optional(headers: dict[str, str], name: str) -> str | None:
    # RAPID sets only non-empty headers; an empty one means "absent" (awslambdaric too).
    value = headers.get(name)
    return value if value else None


def parse_next(status: int, headers: dict[str, str], body: bytes) -> Invocation:
    """Turn a /next answer into an Invocation.

    ``headers`` has lower-cased names and stripped values. Raises ProtocolError only when
    the answer cannot be answered at all (not a 200, or no request id to post to); every
    other defect becomes a warning and a defined value, never a crash (awslambdaric aborts
    on ``Deadline-Ms: 0`` and segfaults on a missing Content-Type).
    """
    if status != 200:
        raise ProtocolError(f"/next answered HTTP {status}: {body[:512]!r}")
    request_id = headers.get(H_REQUEST_ID)
    if not request_id:
        raise ProtocolError(f"/next answer has no {H_REQUEST_ID} header; nothing can be posted for it")
    warnings: list[str] = []
    raw_deadline = headers.get(H_DEADLINE_MS)
    deadline_ms = 0
    if raw_deadline is None:
        warnings.append(f"no {H_DEADLINE_MS} header: remaining time reads 0")
    elif raw_deadline.isdigit() and int(raw_deadline) > 0:
        deadline_ms = int(raw_deadline)
    else:
        warnings.append(f"bad {H_DEADLINE_MS} header {raw_deadline!r}: remaining time reads 0")
    content_type = headers.get(H_CONTENT_TYPE)
    if content_type is None:
        warnings.append("no Content-Type on /next: the event is parsed as JSON, the platform's default")
        content_type = JSON_CONTENT_TYPE
    invocation_id = _optional(headers, H_INVOCATION_ID)
    if invocation_id is not None and not header_value_ok(invocation_id):
        # It would have to be echoed in a header, where a control character could end the
        # line and forge another header: posts for this invocation go without it.
        warnings.append(f"{H_INVOCATION_ID} {invocation_id!r} holds a control character: not echoed on posts")
        invocation_id = None
    trace_id = _optional(headers, H_TRACE_ID)
    if trace_id is not None and "\x00" in trace_id:
        # The trace id is handed on through the environment, which cannot hold a NUL.
        warnings.append(f"{H_TRACE_ID} {trace_id!r} holds a NUL byte: ignored")
        trace_id = None
    return Invocation(
        request_id=request_id,
        deadline_ms=deadline_ms,
        invoked_function_arn=headers.get(H_FUNCTION_ARN, ""),
        trace_id=trace_id,
        client_context=_optional(headers, H_CLIENT_CONTEXT),
        cognito_identity=_optional(headers, H_COGNITO_IDENTITY),
        tenant_id=_optional(headers, H_TENANT_ID),
        invocation_id=invocation_id,
        content_type=content_type,
        body=body,
        warnings=tuple(warnings),
    )


def header_value_ok(value: str) -> bool:
    """No control character (C0 or DEL, tab allowed): the value can be written into a
    request head as it is, without ending its line or forging another header."""
    if value.isascii() and value.isprintable():
        return True  # the common case, answered in C
    return not any((char < " " and char != "\t") or char == "\x7f" for char in value)


# RFC 3986 unreserved characters, plus the sub-delims, ":" and "@" that Go's url package
# (RAPID's) leaves unescaped in a path: written as they are, an id decodes the same way on
# every server. Everything else is percent-encoded.
_SEGMENT_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~$&+,:;=@")


def path_segment(value: str) -> str:
    """``value`` as one percent-encoded path segment, so that an id holding ``/``, ``..``,
    ``?``, ``#``, ``%``, spaces, CR/LF, NUL or non-ASCII can never name another path or break
    the request line. Lossless: the bytes encoded are the ones the platform sent (the
    transport decodes heads with surrogateescape)."""
    if value.isascii() and value.replace("-", "").isalnum():
        return value  # UUIDs, the platform's ids: nothing to encode
    raw = value.encode("utf-8", "surrogateescape")
    if raw in (b".", b".."):
        return raw.decode().replace(".", "%2E")  # a dot-segment would be resolved away
    return "".join(chr(byte) if byte in _SEGMENT_SAFE else f"%{byte:02X}" for byte in raw)


def response_path(request_id: str) -> str:
    return f"{RUNTIME_PREFIX}/invocation/{path_segment(request_id)}/response"


def error_path(request_id: str) -> str:
    return f"{RUNTIME_PREFIX}/invocation/{path_segment(request_id)}/error"


def request_head(method: str, path: str, host: str, headers: list[tuple[str, str]]) -> bytes:
    """A request head: the request line, Host, then ``headers`` in order (the Extensions API's
    requests are built with it too). Paths are percent-encoded and values checked before they
    get here (``header_value_ok``, ``_header_safe``); an echoed value goes back as the exact
    bytes the platform sent."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8", "surrogateescape")


_ACCEPT = ("Accept", "*/*")  # awslambdaric's libcurl sends it; kept for byte-identical requests


def next_request(host: str, user_agent: str) -> bytes:
    return request_head("GET", NEXT_PATH, host, [_ACCEPT, ("User-Agent", user_agent)])


def response_head(
    host: str, user_agent: str, request_id: str, length: int, content_type: str, invocation_id: str | None
) -> bytes:
    """The head of a buffered /response request whose body is ``length`` bytes."""
    headers = [_ACCEPT, ("content-type", content_type), ("User-Agent", user_agent)]
    if invocation_id:
        headers.append(("lambda-runtime-invocation-id", invocation_id))
    headers.append(("content-length", str(length)))
    return request_head("POST", response_path(request_id), host, headers)


def error_request(
    host: str,
    user_agent: str,
    request_id: str,
    body: bytes,
    error_type: str,
    xray_cause: str,
    invocation_id: str | None,
) -> bytes:
    """The /error request. Unlike awslambdaric it carries the error-type header the docs ask for."""
    headers = [_ACCEPT, ("content-type", JSON_CONTENT_TYPE)]
    if xray_cause and len(xray_cause) < XRAY_CAUSE_LIMIT:
        headers.append((H_XRAY_CAUSE, xray_cause))
    headers.append(("User-Agent", user_agent))
    headers.append((H_ERROR_TYPE, _header_safe(error_type)))
    if invocation_id:
        headers.append(("lambda-runtime-invocation-id", invocation_id))
    headers.append(("content-length", str(len(body))))
    return request_head("POST", error_path(request_id), host, headers) + body


def init_error_request(host: str, user_agent: str, body: bytes, error_type: str, path: str = INIT_ERROR_PATH) -> bytes:
    """The /init/error (or /restore/error) request."""
    headers = [
        _ACCEPT,
        ("content-type", JSON_CONTENT_TYPE),
        ("User-Agent", user_agent),
        (H_ERROR_TYPE, _header_safe(error_type)),
        ("content-length", str(len(body))),
    ]
    return request_head("POST", path, host, headers) + body


def _header_safe(value: str) -> str:
    # An exception class name can be any identifier, non-ASCII included; a header value
    # must stay one latin-1 line, so anything else is replaced rather than breaking the post.
    if value.isascii() and value.isprintable():
        return value
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in value)


class PostOutcome:
    """What the Runtime API's answer to a post means: ``ok``, or a ``message`` to log."""

    __slots__ = ("message", "ok", "status")

    def __init__(self, ok: bool, message: str, status: int = 0) -> None:
        self.ok = ok
        self.message = message
        self.status = status


def judge_post(status: int, body: bytes, what: str) -> PostOutcome:
    """Decide what a post's answer means. 2xx is fine; 410 is a stale invoke (timed out,
    the platform moved on): log it and carry on, as the Rust and Java runtimes do; 413 and
    other 4xx are reported but do not end the process, since the invocation has already been
    failed by the platform and the next one may well succeed."""
    if 200 <= status < 300:
        return PostOutcome(True, "", status)
    detail = body[:1024].decode("utf-8", "replace")
    if status == 410:
        return PostOutcome(False, f"{what} was refused as stale (HTTP 410: the invocation timed out): {detail}", status)
    return PostOutcome(False, f"{what} failed with HTTP {status}: {detail}", status)


# The built-in emulator's SnapStart restores by fork (not Lambda's API, which has no such
# headers): a runtime that can fork at each restore says so on ``/restore/next``, and reports
# the process it forked for the previous restore on the next one. See ``snapfork``.
H_RESTORE_BY_FORK = "Lambdaloop-Restore-By-Fork"
H_RESTORED_PID = "Lambdaloop-Restored-Pid"
# What the emulator asks of lambdaloop's runtime through its environment: restore by fork
# ("fork"), and leave each restore's fingerprint in a folder for its uniqueness check (snapcheck).
SNAPSHOT_ENV = "_LAMBDALOOP_SNAPSHOT"
SNAPSTART_PROBE_ENV = "_LAMBDALOOP_SNAPSTART_PROBE"


def restore_next_request(host: str, user_agent: str, extra: Sequence[tuple[str, str]] = ()) -> bytes:
    return request_head("GET", RESTORE_NEXT_PATH, host, [_ACCEPT, ("User-Agent", user_agent), *extra])


# -- Response streaming -----------------------------------------------------------------
#
# A streamed /response is one chunked POST: the head below, one chunk per write, then the
# last chunk, with the two declared trailers when the stream failed after its first byte.

STREAMING_MODE = "streaming"
# RAPID's own default when a streamed response carries no Content-Type.
STREAM_CONTENT_TYPE = "application/octet-stream"
# The body is a JSON prelude, 8 NUL bytes, then the payload (Function URLs, API Gateway).
HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
HTTP_PRELUDE_DELIMITER = b"\x00" * 8
# Lambda's documented streamed-response limit: 200 MB, in the MiB sense of its other quotas.
MAX_STREAMED_RESPONSE = 200 * 1024 * 1024
STREAM_END = b"0\r\n\r\n"


def streaming_response_head(
    host: str, user_agent: str, request_id: str, content_type: str, invocation_id: str | None
) -> bytes:
    """The head of a streamed /response: mode header, chunked, both trailers declared up
    front (a peer may only accept trailers it was told about)."""
    headers = [
        _ACCEPT,
        ("content-type", _header_safe(content_type)),
        ("User-Agent", user_agent),
        (H_RESPONSE_MODE, STREAMING_MODE),
        ("Transfer-Encoding", "chunked"),
        ("Trailer", f"{H_ERROR_TYPE}, {H_ERROR_BODY}"),
    ]
    if invocation_id:
        headers.append(("lambda-runtime-invocation-id", invocation_id))
    return request_head("POST", response_path(request_id), host, headers)


def chunk_head(size: int) -> bytes:
    """The size line that opens one chunk of ``size`` bytes (never 0: that ends the body)."""
    if size <= 0:
        raise ValueError("an empty chunk would end the chunked body")
    return b"%x\r\n" % size


def chunk(data: bytes | bytearray | memoryview) -> bytes:
    """One whole chunk: size line, data, CRLF."""
    return chunk_head(len(data)) + data + b"\r\n"


def stream_end(error_type: str | None = None, error_body: bytes | None = None) -> bytes:
    """The last chunk, and the error trailers when the stream failed after its first byte.

    ``error_body`` is the same JSON as an /error body; it travels base64-encoded (standard
    alphabet, padded) because a trailer is one latin-1 line and the JSON may hold anything.
    """
    if error_type is None:
        return STREAM_END
    from binascii import b2a_base64

    encoded = b2a_base64(error_body or b"", newline=False)
    return (
        b"0\r\n"
        + f"{H_ERROR_TYPE}: {_header_safe(error_type)}\r\n".encode("latin-1")
        + H_ERROR_BODY.encode("latin-1")
        + b": "
        + encoded
        + b"\r\n\r\n"
    )
