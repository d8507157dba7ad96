"""Values from the platform that go back to it: the request id in a path, the invocation id in
a header. Whatever bytes the platform sent, the runtime writes a well-formed request that names
exactly that id, or drops the value with a warning; it never writes a control character into
a request head and never posts to another path."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdaloop import protocol

HOST, UA = "127.0.0.1:9001", "lambdaloop/test"


def as_header_text(raw: bytes) -> str:
    """What the transport hands over for these header bytes."""
    return raw.decode("utf-8", "surrogateescape")


def request_line(request: bytes) -> tuple[str, bytes]:
    head = request.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    for line in lines:
        assert b"\r" not in line and b"\n" not in line and b"\x00" not in line, line
    method, path, version = lines[0].split(b" ")
    assert version == b"HTTP/1.1"
    return method.decode(), path


def posted_id(path: bytes, action: str) -> bytes:
    prefix = b"/2018-06-01/runtime/invocation/"
    suffix = b"/" + action.encode()
    assert path.startswith(prefix) and path.endswith(suffix), path
    segment = path[len(prefix) : -len(suffix)]
    assert segment.isascii() and b"/" not in segment and b"?" not in segment and b"#" not in segment
    assert segment not in (b".", b".."), segment
    return unquote_to_bytes(segment)


_ids = st.binary(min_size=1, max_size=80).filter(lambda raw: raw.strip(b" \t"))


@settings(max_examples=500, deadline=None)
@given(_ids)
def test_any_request_id_is_posted_to_its_own_path(raw: bytes) -> None:
    request_id = as_header_text(raw)
    response = protocol.response_head(HOST, UA, request_id, 2, "application/json", None)
    method, path = request_line(response)
    assert method == "POST" and posted_id(path, "response") == raw
    error = protocol.error_request(HOST, UA, request_id, b"{}", "E", "", None)
    assert posted_id(request_line(error)[1], "error") == raw
    stream = protocol.streaming_response_head(HOST, UA, request_id, "text/plain", None)
    assert posted_id(request_line(stream)[1], "response") == raw


@pytest.mark.parametrize(
    ("raw", "segment"),
    [
        (b"6ba7b810-9dad-11d1-80b4-00c04fd430c8", b"6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        (b"..", b"%2E%2E"),
        (b".", b"%2E"),
        (b"../../init/error", b"..%2F..%2Finit%2Ferror"),
        (b"a b?c#d%e", b"a%20b%3Fc%23d%25e"),
        (b"r1\r\nX-Forged: 1", b"r1%0D%0AX-Forged:%201"),
        (b"nul\x00", b"nul%00"),
        ("caf\u00e9".encode(), b"caf%C3%A9"),
        (b"\xff\xfe", b"%FF%FE"),
        (b"a:b@c;d=e,f+g$h&i~j_k.l", b"a:b@c;d=e,f+g$h&i~j_k.l"),
    ],
)
def test_path_segment_examples(raw: bytes, segment: bytes) -> None:
    assert protocol.path_segment(as_header_text(raw)).encode("ascii") == segment


def next_headers(**extra: str) -> dict[str, str]:
    headers = {protocol.H_REQUEST_ID: "r1", protocol.H_DEADLINE_MS: "9999999999999", "content-type": "application/json"}
    headers.update(extra)
    return headers


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=60))
def test_invocation_id_is_echoed_exactly_or_dropped_with_a_warning(raw: bytes) -> None:
    value = as_header_text(raw).strip()
    invocation = protocol.parse_next(200, next_headers(**{protocol.H_INVOCATION_ID: value}), b"{}")
    request = protocol.response_head(HOST, UA, "r1", 0, "application/json", invocation.invocation_id)
    request_line(request)  # well-formed, no control character in any line
    if invocation.invocation_id is None:
        assert not value or any("not echoed" in warning for warning in invocation.warnings)
    else:
        assert b"lambda-runtime-invocation-id: " + value.encode("utf-8", "surrogateescape") + b"\r\n" in request


@pytest.mark.parametrize("value", ["inv\nX-Forged: 1", "inv\x00", "inv\x7f", "inv\rx", "inv\x1b[31m"])
def test_invocation_id_with_control_characters_is_not_echoed(value: str) -> None:
    invocation = protocol.parse_next(200, next_headers(**{protocol.H_INVOCATION_ID: value}), b"{}")
    assert invocation.invocation_id is None
    assert any(protocol.H_INVOCATION_ID in warning for warning in invocation.warnings)


def test_trace_id_with_nul_is_dropped_with_a_warning() -> None:
    invocation = protocol.parse_next(200, next_headers(**{protocol.H_TRACE_ID: "Root=1-a\x00b"}), b"{}")
    assert invocation.trace_id is None
    assert any("NUL" in warning for warning in invocation.warnings)
    kept = protocol.parse_next(200, next_headers(**{protocol.H_TRACE_ID: "Root=1-\udcff;Sampled=1"}), b"{}")
    assert kept.trace_id == "Root=1-\udcff;Sampled=1"  # odd bytes, but the environment can hold them
