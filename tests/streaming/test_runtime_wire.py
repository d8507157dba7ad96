"""Every streaming shape through a real ``python -m lambdaloop`` process, checked on the
wire by a raw-socket Runtime API that records the chunked upload and its trailers."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .fakeapi import Post, event

HTTP_TYPE = "application/vnd.awslambda.http-integration-response"


def ev(request_id: str, payload: dict[str, Any] | None = None, **headers: str) -> tuple[dict[str, str], bytes]:
    return event(request_id, json.dumps(payload or {}).encode(), **headers)


def trailer_error(post: Post) -> dict[str, Any]:
    assert set(post.trailers) == {"Lambda-Runtime-Function-Error-Type", "Lambda-Runtime-Function-Error-Body"}
    body = json.loads(base64.b64decode(post.trailers["Lambda-Runtime-Function-Error-Body"], validate=True))
    assert body["errorType"] == post.trailers["Lambda-Runtime-Function-Error-Type"]
    assert set(body) == {"errorMessage", "errorType", "requestId", "stackTrace"}  # the /error shape
    return body


def assert_streaming_head(post: Post, request_id: str, content_type: str) -> None:
    assert post.method == "POST" and post.path == f"/2018-06-01/runtime/invocation/{request_id}/response"
    assert post.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    assert post.header("Transfer-Encoding") == "chunked"
    assert post.header("Trailer") == "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"
    assert post.header("content-type") == content_type
    assert post.header("content-length") is None


# -- success, each shape -------------------------------------------------------------------


def test_generator_bytes_on_the_wire_exactly(start) -> None:
    api, _ = start([ev("r1", Lambda_Runtime_Invocation_Id="inv-1"), ev("r2")], "streamfns.gen")
    first = api.wait_post()
    assert_streaming_head(first, "r1", "application/octet-stream")
    assert first.header("lambda-runtime-invocation-id") == "inv-1"
    # The whole request after its head, byte for byte: one chunk per non-empty yield.
    assert first.raw[len(first.raw_head) + 4 :] == b"4\r\none,\r\n4\r\ntwo,\r\n5\r\ntr\xc3\xa9s\r\n0\r\n\r\n"
    assert first.trailers == {}
    second = api.wait_post()
    assert second.path.endswith("/r2/response") and second.header("lambda-runtime-invocation-id") is None
    # The connection is closed after a streamed response; the /next after it opens a new one.
    deadline = time.monotonic() + 10
    while len(api.next_connections) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    next1, next2, next3 = api.next_connections[:3]
    assert first.connection == next1 and second.connection == next2
    assert next2 != next1 and next3 != next2


def test_async_generator(start) -> None:
    api, _ = start([ev("r1")], "streamfns.agen")
    post = api.wait_post()
    assert_streaming_head(post, "r1", "application/octet-stream")
    assert post.chunks == [b"a0;", b"a1;", b"a2;"] and post.trailers == {}


def test_writer_sync_and_async(start) -> None:
    api, _ = start([ev("r1")], "streamfns.writer")
    post = api.wait_post()
    assert_streaming_head(post, "r1", "text/plain; charset=utf-8")
    assert post.chunks == [b"hello ", b"writer"]
    api2, _ = start([ev("r2")], "streamfns.async_writer")
    post2 = api2.wait_post()
    assert_streaming_head(post2, "r2", "text/event-stream")
    assert post2.chunks == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]


def test_writer_may_be_a_generator_and_set_its_content_type(start) -> None:
    api, _ = start([ev("r1")], "streamfns.writer_generator")
    post = api.wait_post()
    assert_streaming_head(post, "r1", "text/csv")
    assert post.chunks == [b"a,b\n", b"1,2\n"]


def test_empty_generator_is_an_empty_streamed_response(start) -> None:
    api, _ = start([ev("r1")], "streamfns.empty_gen")
    post = api.wait_post()
    assert_streaming_head(post, "r1", "application/octet-stream")
    assert post.raw[len(post.raw_head) + 4 :] == b"0\r\n\r\n"


def test_buffered_and_streamed_answers_from_one_handler_in_one_process(start) -> None:
    events = [ev("r1", {"n": 1}), ev("r2", {"n": 2, "buffered": True}), ev("r3", {"n": 3}), ev("r4", {"n": 4})]
    api, _ = start(events, "streamfns.maybe_stream")
    posts = [api.wait_post() for _ in range(4)]
    assert [p.chunked for p in posts] == [True, False, True, True]
    assert posts[0].body == b"streamed 1" and posts[2].body == b"streamed 3"
    assert json.loads(posts[1].body) == {"n": 2} and posts[1].header("content-type") == "application/json"
    assert posts[1].header("Lambda-Runtime-Function-Response-Mode") is None


# -- chunks leave as they are produced -------------------------------------------------------


@pytest.mark.parametrize("handler", ["streamfns.gated_gen", "streamfns.writer_gated"])
def test_first_chunk_arrives_before_the_handler_finishes(start, tmp_path: Path, handler: str) -> None:
    gate = tmp_path / "gate"
    api, _ = start([ev("r1", {"gate": str(gate)})], handler)
    # The handler blocks after its first chunk until the gate opens: if anything buffered
    # the response, this would time out.
    _, data = api.chunk_log.get(timeout=10)
    assert data == b"first"
    assert api.posts.empty()  # the response is still open
    gate.touch()
    post = api.wait_post()
    assert post.chunks == [b"first", b"second"] and post.trailers == {}


# -- HTTP responses (Function URLs) -------------------------------------------------------------


def prelude_of(post: Post) -> tuple[dict[str, Any], bytes]:
    meta, sep, payload = post.body.partition(b"\x00" * 8)
    assert sep, "no 8-NUL delimiter"
    return json.loads(meta), payload


def test_http_response_prelude_then_body(start) -> None:
    api, _ = start([ev("r1")], "streamfns.http_gen")
    post = api.wait_post()
    assert_streaming_head(post, "r1", HTTP_TYPE)
    meta, payload = prelude_of(post)
    assert meta == {
        "statusCode": 201,
        "headers": {"content-type": "text/html", "x-multi": "1, 2"},
        "cookies": ["b=2; Secure", "a=1"],
    }
    assert payload == b"<p>hi</p>"
    # The prelude and its delimiter are one chunk, before any payload chunk.
    assert post.chunks[0].endswith(b"\x00" * 8) and post.chunks[1:] == [b"<p>", b"hi</p>"]


@pytest.mark.parametrize("handler", ["streamfns.http_empty", "streamfns.http_writer_empty"])
def test_http_response_with_no_body_still_carries_status_and_headers(start, handler: str) -> None:
    api, _ = start([ev("r1")], handler)
    post = api.wait_post()
    meta, payload = prelude_of(post)
    assert payload == b"" and meta["statusCode"] in (204, 404) and meta["headers"]
    assert post.trailers == {}


def test_http_async_body(start) -> None:
    api, _ = start([ev("r1")], "streamfns.http_async_body")
    meta, payload = prelude_of(api.wait_post())
    assert meta["headers"] == {"content-type": "text/plain"} and payload == b"async http"


def test_http_writer_commits_the_prelude_before_the_body(start, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    api, _ = start([ev("r1", {"gate": str(gate)})], "streamfns.http_writer")
    _, first = api.chunk_log.get(timeout=10)  # sent by write(b""), before the gate opens
    assert json.loads(first[:-8]) == {"statusCode": 202, "headers": {"content-type": "text/plain"}, "cookies": ["s=1"]}
    gate.touch()
    post = api.wait_post()
    assert prelude_of(post)[1] == b"body"


# -- errors at each point --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("streamfns.gen_fails_before_first", "ValueError", "nothing to stream"),
        ("streamfns.writer_fails_before_first", "LookupError", "no rows"),
        ("streamfns.writer_bad_write", "TypeError", "a streamed response is made of bytes or str, not dict"),
        ("streamfns.http_bad_header", "ValueError", "contains CR, LF or NUL"),
        ("streamfns.http_writer_fails_in_prelude", "ValueError", "HTTP status code must be an int from 100 to 599"),
    ],
)
def test_failure_before_the_first_byte_goes_to_error(start, handler: str, error_type: str, message: str) -> None:
    api, _ = start([ev("r1", Lambda_Runtime_Invocation_Id="inv-1"), ev("r2")], handler)
    post = api.wait_post()
    assert post.path == "/2018-06-01/runtime/invocation/r1/error" and not post.chunked
    assert post.header("Lambda-Runtime-Function-Error-Type") == error_type
    assert post.header("lambda-runtime-invocation-id") == "inv-1"
    body = json.loads(post.body)
    assert body["errorType"] == error_type and message in body["errorMessage"]
    assert api.wait_post().path.endswith("/r2/error")  # the process goes on
    # /error is a buffered post: the connection is kept for the next /next.
    assert api.next_connections[1] == post.connection


@pytest.mark.parametrize(
    ("handler", "chunks", "error_type", "message"),
    [
        ("streamfns.gen_fails_midway", [b"partial"], "KeyError", "'lost the rest'"),
        ("streamfns.agen_fails_midway", [b"async partial"], "RuntimeError", "async producer died"),
        ("streamfns.gen_bad_item", [b"ok"], "Runtime.MarshalError", "the handler produced int (42)"),
    ],
)
def test_failure_after_the_first_byte_ends_with_trailers(start, handler, chunks, error_type, message) -> None:
    api, runtime = start([ev("r1"), ev("r2")], handler)
    post = api.wait_post()
    assert_streaming_head(post, "r1", "application/octet-stream")
    assert post.chunks == chunks
    body = trailer_error(post)
    assert body["errorType"] == error_type and message in body["errorMessage"] and body["requestId"] == "r1"
    assert post.raw_trailers.startswith(f"Lambda-Runtime-Function-Error-Type: {error_type}\r\n".encode())
    assert api.wait_post().path.endswith("/r2/response")  # the process goes on
    output = runtime.stop()
    assert f"[ERROR] {error_type}:" in output  # logged like any invocation error


def test_user_code_frames_in_the_trailer_trace(start) -> None:
    api, _ = start([ev("r1")], "streamfns.gen_fails_midway")
    trace = trailer_error(api.wait_post())["stackTrace"]
    assert len(trace) == 1 and "streamfns.py" in trace[0] and "gen_fails_midway" in trace[0]


def test_http_body_failure_after_the_prelude_ends_with_trailers(start) -> None:
    api, _ = start([ev("r1")], "streamfns.http_fails_midway")
    post = api.wait_post()
    meta, payload = prelude_of(post)
    assert meta["statusCode"] == 200 and payload == b"half"
    assert trailer_error(post)["errorMessage"] == "disk gone"


def test_huge_error_trailer_is_capped(start) -> None:
    api, _ = start([ev("r1")], "streamfns.gen_deep_error")
    post = api.wait_post()
    assert len(post.trailers["Lambda-Runtime-Function-Error-Body"]) <= 4 * 64 * 1024 // 3 + 4
    assert trailer_error(post)["errorType"] == "ValueError"


def test_sys_exit_mid_stream_reports_exit_error_then_exits(start) -> None:
    api, runtime = start([ev("r1"), ev("r2")], "streamfns.gen_exits_midway")
    post = api.wait_post()
    assert post.chunks == [b"bye"]
    body = trailer_error(post)
    assert body["errorType"] == "Runtime.ExitError" and "exit status 3" in body["errorMessage"]
    assert runtime.wait() == 3


def test_error_after_close_is_logged_and_the_response_stands(start) -> None:
    api, runtime = start([ev("r1"), ev("r2")], "streamfns.writer_closes_early")
    post = api.wait_post()
    assert post.chunks == [b"done"] and post.trailers == {}
    api.wait_post()
    output = runtime.stop()
    assert "RuntimeError: after close" in output and "failed after closing its response stream" in output


def test_set_content_type_after_first_write_is_an_error_in_trailers(start) -> None:
    api, _ = start([ev("r1")], "streamfns.writer_type_after_write")
    assert "cannot change after the first write" in trailer_error(api.wait_post())["errorMessage"]


# -- limits, refusals, broken connections -----------------------------------------------------


def test_200_mib_limit_ends_the_stream_with_an_error_even_if_the_handler_swallows_it(start) -> None:
    api, _ = start([ev("r1")], "streamfns.writer_over_limit", keep_body=False, recv_size=1 << 20)
    post = api.wait_post(timeout=60)
    assert post.body_bytes == 200 * 1024 * 1024  # 25 writes of 8 MiB; the 26th was refused whole
    body = trailer_error(post)
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    assert "(209715200 bytes)" in body["errorMessage"]


def test_non_2xx_answer_to_the_stream_is_logged(start) -> None:
    api, runtime = start(
        [ev("r1"), ev("r2")], "streamfns.gen", answer=(400, b'{"errorType":"InvalidFunctionResponseMode"}')
    )
    api.wait_post()
    api.wait_post()  # the loop went on
    output = runtime.stop()
    assert "streamed /response for r1 failed with HTTP 400" in output and "InvalidFunctionResponseMode" in output


def test_connection_lost_mid_stream_is_logged_and_ends_the_process(start) -> None:
    _, runtime = start([ev("r1", {"mb": 50})], "streamfns.big", hang_up_after=1)
    assert runtime.wait() == 1
    assert "Failed to post streamed /response for r1" in runtime.output


# -- memory stays flat while a slow reader takes 100 MB -----------------------------------------


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_memory_stays_flat_while_streaming_100_mb_to_a_slow_reader(start) -> None:
    # The reader takes 256 KiB every 4 ms (at most ~60 MB/s): the runtime must wait on the
    # socket rather than queue the response in memory.
    events = [ev("warm", {"mb": 1}), ev("r1", {"mb": 100, "chunk": 1 << 20})]
    api, runtime = start(events, "streamfns.big", keep_body=False, recv_size=256 * 1024, read_pause=0.004)
    api.wait_post()  # warm-up invocation: imports and first allocations are done
    baseline = rss_kib(runtime.pid)
    peak = baseline
    samples = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, samples
        while not done.is_set():
            peak = max(peak, rss_kib(runtime.pid))
            samples += 1
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    post = api.wait_post(timeout=60)
    elapsed = time.monotonic() - started
    done.set()
    sampler.join()
    assert post.body_bytes == 100 << 20 and post.trailers == {}
    assert elapsed > 1.0 and samples > 50  # the reader really was slow, and we watched throughout
    growth_mib = (peak - baseline) / 1024
    assert growth_mib < 16, f"RSS {baseline} KiB -> peak {peak} KiB while streaming 100 MiB in {elapsed:.1f} s"


def test_sync_generator_path_imports_no_asyncio(start) -> None:
    # streamfns itself imports asyncio for its async handlers, so run a module that does not.
    api, _ = start([ev("r1")], "plainfns.gen_reports_imports")
    post = api.wait_post()
    assert json.loads(post.chunks[1]) == {"asyncio": False, "uvloop": False}
