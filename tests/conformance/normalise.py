"""What may differ between the requests of awslambdaric and lambdaloop, and nothing more.

Every request is reduced to a ``WireRequest`` (request line, header lines, body) after:

* run-to-run noise, for both runtimes: the port in ``Host`` and the ``User-Agent`` value
  (each runtime names itself; its presence and position are still compared);
* the intentional differences listed in ``INTENTIONAL`` below, each with the reason, each
  checked (the normaliser asserts the lambdaloop side looks as documented before erasing it).

Anything else that differs is a conformance failure.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .recorder import API_PREFIX, EXTENSION_PREFIX, RecordedRequest

AWSLAMBDARIC = "awslambdaric"
LAMBDALOOP = "lambdaloop"

XRAY_HEADER = b"lambda-runtime-function-xray-error-cause"
ERROR_TYPE_HEADER = b"lambda-runtime-function-error-type"
INIT_ERROR_PATH = f"{API_PREFIX}/init/error"

# The documented, intentional differences, in the order a reader meets them on the wire.
INTENTIONAL = {
    "extension-registration": "lambdaloop registers an internal extension (lambdaloop-sigterm, no events) before its "
    "first /next so the platform sends SIGTERM at shutdown; awslambdaric never calls the Extensions API. Only "
    "Runtime API traffic is compared; extensions traffic is checked by its own test.",
    "error-type-header": "lambdaloop adds Lambda-Runtime-Function-Error-Type: <errorType> on /invocation/{id}/error "
    "(awslambdaric's C++ client never sends it).",
    "init-error-transport": "awslambdaric posts /init/error with http.client on a new connection (Host, "
    "Accept-Encoding: identity, Content-Length, Lambda-Runtime-Function-Error-Type); lambdaloop uses its one "
    "connection (Host, Accept, content-type, User-Agent, Lambda-Runtime-Function-Error-Type, content-length). "
    "Method, path, error-type header and body are compared byte for byte; each side's header set is checked.",
    "exit-at-import": "a module-level sys.exit(n) is reported by lambdaloop as an /init/error of type "
    "Runtime.ExitError before it exits n, as a handler's sys.exit is; awslambdaric exits n unreported. "
    "Checked by its own test.",
    "xray-cause-json": "the X-Ray cause header is compared as parsed JSON: its paths list comes from a Python set in "
    "awslambdaric (order varies), and lambdaloop escapes non-ASCII in it (a header stays latin-1) where awslambdaric "
    "under AWS_Lambda_python3.12 sends raw UTF-8.",
}

AWSLAMBDARIC_INIT_ERROR_HEADERS = ["Host", "Accept-Encoding", "Content-Length", "Lambda-Runtime-Function-Error-Type"]
LAMBDALOOP_INIT_ERROR_HEADERS = [
    "Host",
    "Accept",
    "content-type",
    "User-Agent",
    "Lambda-Runtime-Function-Error-Type",
    "content-length",
]

_HOST_PORT = re.compile(rb"^(Host:\s*127\.0\.0\.1):\d+$", re.IGNORECASE)


@dataclass(frozen=True)
class WireRequest:
    request_line: str
    header_lines: tuple[str, ...]
    body: bytes

    def render(self) -> list[str]:
        """Lines for a readable diff; long bodies are shown by length, hash and ends."""
        lines = [self.request_line, *self.header_lines, ""]
        if len(self.body) <= 4000:
            lines += self.body.decode("utf-8", "backslashreplace").split("\n")
        else:
            digest = hashlib.sha256(self.body).hexdigest()[:16]
            lines.append(f"<{len(self.body)} bytes sha256:{digest}>")
            lines.append(f"<head> {self.body[:300].decode('utf-8', 'backslashreplace')}")
            lines.append(f"<tail> {self.body[-300:].decode('utf-8', 'backslashreplace')}")
        return lines


def is_runtime_api(request: RecordedRequest) -> bool:
    return request.target.startswith(API_PREFIX + "/")


def is_extensions_api(request: RecordedRequest) -> bool:
    return request.target.startswith(EXTENSION_PREFIX + "/")


def is_error_post(request: RecordedRequest) -> bool:
    return (
        request.method == "POST"
        and request.target.startswith(f"{API_PREFIX}/invocation/")
        and (request.target.endswith("/error"))
    )


def _canonical_xray(value: bytes, runtime: str) -> str:
    if runtime == LAMBDALOOP:
        # lambdaloop's reason for escaping: a header value must stay latin-1 (here: ASCII).
        assert value.isascii(), f"lambdaloop's X-Ray cause header is not ASCII: {value[:200]!r}"
    cause = json.loads(value.decode("utf-8"))
    if isinstance(cause, dict) and isinstance(cause.get("paths"), list):
        cause["paths"] = sorted(cause["paths"])  # a set in awslambdaric: order is not meaningful
    return json.dumps(cause, ensure_ascii=False)


def _error_type_in_body(body: bytes) -> str:
    return json.loads(body)["errorType"]


def normalise(request: RecordedRequest, runtime: str) -> WireRequest:
    """One Runtime API request as it must be identical between the two runtimes."""
    if request.method == "POST" and request.target == INIT_ERROR_PATH:
        return _normalise_init_error(request, runtime)
    lines: list[str] = []
    for raw, (name, value) in zip(request.header_lines, request.headers, strict=True):
        lowered = name.lower()
        if _HOST_PORT.match(raw):
            lines.append(_HOST_PORT.sub(rb"\1:<port>", raw).decode("latin-1"))
        elif lowered == b"user-agent":
            lines.append(name.decode("latin-1") + ": <user-agent>")
        elif lowered == XRAY_HEADER and is_error_post(request):
            lines.append(name.decode("latin-1") + ": " + _canonical_xray(value, runtime))
        elif lowered == ERROR_TYPE_HEADER and is_error_post(request) and runtime == LAMBDALOOP:
            # INTENTIONAL["error-type-header"]: checked, then left out of the comparison.
            expected = _error_type_in_body(request.body)
            assert value.decode("utf-8") == expected, f"error-type header {value!r} != body errorType {expected!r}"
        else:
            lines.append(raw.decode("latin-1"))
    if is_error_post(request) and runtime == LAMBDALOOP:
        assert request.header(ERROR_TYPE_HEADER.decode()) is not None, (
            f"lambdaloop did not send Lambda-Runtime-Function-Error-Type on {request.target}"
        )
    return WireRequest(request.request_line.decode("latin-1"), tuple(lines), request.body)


def _normalise_init_error(request: RecordedRequest, runtime: str) -> WireRequest:
    # INTENTIONAL["init-error-transport"]: each side's header set is what its HTTP stack sends.
    expected = AWSLAMBDARIC_INIT_ERROR_HEADERS if runtime == AWSLAMBDARIC else LAMBDALOOP_INIT_ERROR_HEADERS
    assert request.header_names == expected, f"{runtime} /init/error headers {request.header_names} != {expected}"
    error_type = request.header(ERROR_TYPE_HEADER.decode()) or b""
    line = "Lambda-Runtime-Function-Error-Type: " + error_type.decode("latin-1")
    return WireRequest(request.request_line.decode("latin-1"), (line,), request.body)


def runtime_api_requests(requests: Sequence[RecordedRequest]) -> list[RecordedRequest]:
    """INTENTIONAL["extension-registration"]: the Extensions API traffic is compared elsewhere."""
    return [r for r in requests if not is_extensions_api(r)]


def assert_same_requests(
    expected: Sequence[RecordedRequest],
    actual: Sequence[RecordedRequest],
    expected_runtime: str = AWSLAMBDARIC,
    actual_runtime: str = LAMBDALOOP,
) -> None:
    """Fail with a readable diff unless both request lists normalise to the same thing."""
    left = [normalise(r, expected_runtime) for r in runtime_api_requests(expected)]
    right = [normalise(r, actual_runtime) for r in runtime_api_requests(actual)]
    if left == right:
        return
    lines: list[str] = []
    if len(left) != len(right):
        lines.append(f"{expected_runtime} sent {len(left)} requests, {actual_runtime} sent {len(right)}")
    for index in range(max(len(left), len(right))):
        a = left[index].render() if index < len(left) else ["<no request>"]
        b = right[index].render() if index < len(right) else ["<no request>"]
        if a != b:
            lines.append(f"request #{index}:")
            lines += difflib.unified_diff(a, b, expected_runtime, actual_runtime, lineterm="", n=2)
            if index < len(left) and index < len(right) and left[index].body != right[index].body:
                lines.append(_first_difference(left[index].body, right[index].body, expected_runtime, actual_runtime))
    raise AssertionError("\n".join(lines))


def _first_difference(a: bytes, b: bytes, name_a: str, name_b: str) -> str:
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return (
        f"bodies differ at byte {at} (lengths {len(a)} and {len(b)}):\n"
        f"  {name_a}: {a[max(0, at - 60) : at + 60]!r}\n  {name_b}: {b[max(0, at - 60) : at + 60]!r}"
    )
