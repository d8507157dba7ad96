"""The sans-IO parts of streaming, with bytes: request head, chunk framing, trailers, the
HTTP prelude, and the upload state machine over a recording connection."""

from __future__ import annotations

import base64
import json

import pytest

from lambdaloop import protocol
from lambdaloop.httpstream import http_prelude, normalize_headers
from lambdaloop.stream_post import trailer_body
from lambdaloop.streaming import HttpResponse, ResponseStream
from lambdaloop.transport import Response
from lambdaloop.upload import ResponseTooLargeError, StreamBrokenError, StreamUpload


def test_streaming_head_is_exact() -> None:
    head = protocol.streaming_response_head("127.0.0.1:9001", "ua/1", "r-1", "text/plain", "inv-1")
    assert head == (
        b"POST /2018-06-01/runtime/invocation/r-1/response HTTP/1.1\r\n"
        b"Host: 127.0.0.1:9001\r\n"
        b"Accept: */*\r\n"
        b"content-type: text/plain\r\n"
        b"User-Agent: ua/1\r\n"
        b"Lambda-Runtime-Function-Response-Mode: streaming\r\n"
        b"Transfer-Encoding: chunked\r\n"
        b"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
        b"lambda-runtime-invocation-id: inv-1\r\n"
        b"\r\n"
    )
    without = protocol.streaming_response_head("h", "ua", "r", "x/y", None)
    assert b"invocation-id" not in without.lower()


def test_content_type_cannot_inject_a_header() -> None:
    head = protocol.streaming_response_head("h", "ua", "r", "text/plain\r\nX-Evil: 1", None)
    assert b"\r\nX-Evil" not in head
    assert b"content-type: text/plain??X-Evil: 1\r\n" in head


def test_chunk_framing() -> None:
    assert protocol.chunk(b"hello") == b"5\r\nhello\r\n"
    assert protocol.chunk(b"x" * 4096) == b"1000\r\n" + b"x" * 4096 + b"\r\n"
    assert protocol.chunk(memoryview(b"ab")) == b"2\r\nab\r\n"
    with pytest.raises(ValueError):
        protocol.chunk(b"")  # would end the body


def test_stream_end_plain_and_with_trailers() -> None:
    assert protocol.stream_end() == b"0\r\n\r\n"
    body = json.dumps({"errorType": "KeyError", "errorMessage": "\u00e9"}).encode()
    end = protocol.stream_end("KeyError", body)
    lines = end.split(b"\r\n")
    assert lines[0] == b"0"
    assert lines[1] == b"Lambda-Runtime-Function-Error-Type: KeyError"
    name, _, value = lines[2].partition(b": ")
    assert name == b"Lambda-Runtime-Function-Error-Body"
    assert base64.b64decode(value, validate=True) == body  # standard alphabet, padded
    assert end.endswith(b"\r\n\r\n") and lines[3:] == [b"", b""]


def test_trailer_body_is_capped_keeping_the_innermost_frames() -> None:
    body = {
        "errorMessage": "m",
        "errorType": "E",
        "requestId": "r",
        "stackTrace": [f"frame {i} " + "x" * 500 for i in range(1000)],
    }
    data = trailer_body(body)
    assert len(data) <= 64 * 1024
    decoded = json.loads(data)
    assert decoded["stackTrace"][-1] == body["stackTrace"][-1]  # where it was raised
    assert decoded["errorType"] == "E"
    huge = dict(body, stackTrace=[], errorMessage="y" * 200_000)
    assert len(trailer_body(huge)) <= 64 * 1024
    small = {"errorMessage": "m", "errorType": "E", "requestId": "r", "stackTrace": ["a"]}
    assert json.loads(trailer_body(small)) == small


def test_prelude_shape_cookies_and_joined_headers() -> None:
    prelude = http_prelude(
        201,
        [("Content-Type", "text/html"), ("Set-Cookie", "a=1"), (b"x-m", b"1"), ("X-M", "2"), ("x-n", 5)],
        ["b=2"],
    )
    assert prelude.endswith(b"\x00" * 8) and prelude.count(b"\x00") == 8
    meta = json.loads(prelude[:-8])
    assert meta == {
        "statusCode": 201,
        "headers": {"content-type": "text/html", "x-m": "1, 2", "x-n": "5"},
        "cookies": ["b=2", "a=1"],
    }


def test_prelude_never_contains_a_raw_nul_and_stays_ascii() -> None:
    prelude = http_prelude(200, {"x-note": "caf\u00e9"}, ["c=\u2603"])
    json_part = prelude[:-8]
    assert b"\x00" not in json_part
    json_part.decode("ascii")
    assert json.loads(json_part)["headers"]["x-note"] == "caf\u00e9"


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (99, None),
        (600, None),
        (True, None),
        ("200", None),
        (200, {"x": "a\r\nb: c"}),
        (200, {"x y": "1"}),
        (200, {"": "1"}),
        (200, {"x": 1.5}),
        (200, {"x": "nul\x00"}),
    ],
)
def test_bad_prelude_is_refused(status: object, headers: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        http_prelude(status, headers)  # type: ignore[arg-type]


def test_http_response_validates_in_the_constructor() -> None:
    with pytest.raises(ValueError):
        HttpResponse(b"x", headers={"x": "a\nb"})
    assert normalize_headers(None) == ({}, [])


# -- the upload and the response stream over a recording connection ------------------------


class RecordingConnection:
    def __init__(self, fail_after: int | None = None, answer: Response | None = None) -> None:
        self.sent: list[bytes] = []
        self.fail_after = fail_after
        self.answer = answer or Response(202, {}, b'{"status":"OK"}')
        self.closed = False

    def send(self, data: bytes | bytearray | memoryview) -> None:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise BrokenPipeError(32, "Broken pipe")
        self.sent.append(bytes(data))

    def read_response(self) -> Response:
        return self.answer

    def close(self) -> None:
        self.closed = True


def new_stream(conn: RecordingConnection, limit: int = protocol.MAX_STREAMED_RESPONSE) -> ResponseStream:
    upload = StreamUpload(conn, "h:1", "ua", "r1", None, limit)  # type: ignore[arg-type]
    return ResponseStream(upload)


def test_nothing_is_sent_before_the_first_write_then_head_and_chunk_go_together() -> None:
    conn = RecordingConnection()
    stream = new_stream(conn)
    stream.set_content_type("text/plain")
    assert conn.sent == [] and not stream.started
    stream.write("h\u00e9")
    assert len(conn.sent) == 1  # one buffer: head + first chunk
    assert conn.sent[0].endswith(b"\r\n\r\n3\r\nh\xc3\xa9\r\n")
    assert b"content-type: text/plain\r\n" in conn.sent[0]
    stream.write(b"")  # nothing: an empty chunk would end the body
    assert len(conn.sent) == 1
    with pytest.raises(ValueError):
        stream.set_content_type("text/html")
    stream.close()
    stream.close()  # idempotent
    assert conn.sent[-1] == b"0\r\n\r\n"
    assert stream.closed and stream.upload.answer is not None
    with pytest.raises(ValueError):
        stream.write(b"late")


def test_large_writes_are_not_copied_into_the_frame() -> None:
    conn = RecordingConnection()
    stream = new_stream(conn)
    stream.write(b"a")
    big = b"z" * (1 << 20)
    stream.write(big)
    assert conn.sent[1:] == [b"100000\r\n", big, b"\r\n"]


def test_memoryview_of_wide_items_counts_bytes() -> None:
    import array

    conn = RecordingConnection()
    stream = new_stream(conn)
    stream.write(memoryview(array.array("i", [1, 2])))
    assert conn.sent[0].endswith(b"\r\n8\r\n" + array.array("i", [1, 2]).tobytes() + b"\r\n")


def test_prelude_goes_out_at_first_write_or_at_close() -> None:
    conn = RecordingConnection()
    stream = new_stream(conn)
    stream.start_http_response(202, {"content-type": "text/plain"})
    assert conn.sent == []
    with pytest.raises(ValueError):
        stream.start_http_response(200)  # given once
    stream.close()
    sent = b"".join(conn.sent)
    assert b"content-type: application/vnd.awslambda.http-integration-response\r\n" in sent
    prelude = http_prelude(202, {"content-type": "text/plain"})
    assert sent.endswith(b"\r\n\r\n" + protocol.chunk(prelude) + b"0\r\n\r\n")


def test_limit_refuses_the_write_that_crosses_it_and_sends_none_of_it() -> None:
    conn = RecordingConnection()
    stream = new_stream(conn, limit=10)
    stream.write(b"12345")
    with pytest.raises(ResponseTooLargeError):
        stream.write(b"123456")
    assert stream.limit_error is not None
    assert stream.bytes_written == 5
    stream.write(b"12345")  # exactly at the limit is fine
    assert b"".join(conn.sent).count(b"12345") == 2


def test_broken_connection_is_recorded_and_every_later_write_fails() -> None:
    conn = RecordingConnection(fail_after=1)
    stream = new_stream(conn)
    stream.write(b"first")
    with pytest.raises(StreamBrokenError) as info:
        stream.write(b"second")
    assert isinstance(info.value, OSError)  # ASGI servers' disconnect signal
    with pytest.raises(StreamBrokenError):
        stream.write(b"third")
    stream.close()  # does not raise
    assert stream.upload.state == "broken" and isinstance(stream.upload.failure, BrokenPipeError)
