"""The loop against a fault-injecting Runtime API: real subprocess, real sockets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_process import RuntimeProcess  # tests/runtime_process.py

from .fakeapi import Answer, FakeRuntimeAPI, Request, event

FUNCTIONS = Path(__file__).parent / "functions"


class Runtime(RuntimeProcess):
    """The runtime with tests/loop/functions as its task root."""

    def __init__(self, api: FakeRuntimeAPI, handler: str, env: dict[str, str] | None = None) -> None:
        super().__init__(api.address, handler, FUNCTIONS, env)


@pytest.fixture
def run() -> Iterator:
    started: list[tuple[FakeRuntimeAPI, Runtime]] = []

    def start(events: list[Answer], handler: str, on_post=None, env=None) -> tuple[FakeRuntimeAPI, Runtime]:
        api = FakeRuntimeAPI(events, on_post)
        runtime = Runtime(api, handler, env)
        started.append((api, runtime))
        return api, runtime

    yield start
    for api, runtime in started:
        runtime.stop()
        api.close()


def body(request: Request) -> object:
    return json.loads(request.body)


def test_one_response_per_invocation_with_invocation_id_echoed(run) -> None:
    api, _ = run([event("r1", b'{"a": 1}', Lambda_Runtime_Invocation_Id="inv-1"), event("r2")], "loopfns.echo")
    first, second = api.wait_post(), api.wait_post()
    assert first.path == "/2018-06-01/runtime/invocation/r1/response"
    assert first.headers["lambda-runtime-invocation-id"] == "inv-1"
    assert body(first)["event"] == {"a": 1}
    assert second.path.endswith("/r2/response") and "lambda-runtime-invocation-id" not in second.headers
    assert body(second)["n"] == 2  # the same process, warm
    assert len(api.runtime_connections()) == 1  # one keep-alive connection for the Runtime API


def test_stale_post_410_is_logged_and_the_loop_goes_on(run) -> None:
    answers = iter([Answer(410, {}, b'{"errorType":"InvokeTimeout"}'), Answer(202)])
    api, runtime = run([event("r1"), event("r2")], "loopfns.echo", on_post=lambda r: next(answers))
    assert api.wait_post().path.endswith("/r1/response")
    assert api.wait_post().path.endswith("/r2/response")
    assert "stale" in runtime.stop()


def test_missing_content_type_and_zero_deadline_do_not_crash(run) -> None:
    # awslambdaric segfaults on the first and aborts on the second.
    api, runtime = run([event("r1", b'{"x": 1}', Content_Type=None, Lambda_Runtime_Deadline_Ms="0")], "loopfns.echo")
    result = body(api.wait_post())
    assert result["event"] == {"x": 1} and result["remaining"] == 0
    out = runtime.stop()
    assert "no Content-Type" in out and "lambda-runtime-deadline-ms" in out


def test_missing_request_id_ends_the_process_with_a_clear_error(run) -> None:
    _, runtime = run([event("r1", Lambda_Runtime_Aws_Request_Id=None)], "loopfns.echo")
    code, out = runtime.wait(), runtime.output
    assert code == 1
    assert "LAMBDA_RUNTIME Failed to get next invocation" in out and "request-id" in out


def test_peer_closing_the_keepalive_connection_is_survived(run) -> None:
    api, _ = run([event("r1"), event("r2")], "loopfns.echo", on_post=lambda r: Answer(202, close=True))
    assert api.wait_post().path.endswith("/r1/response")
    assert api.wait_post().path.endswith("/r2/response")
    assert len(api.runtime_connections()) >= 2


def test_sys_exit_posts_exit_error_then_exits_with_the_same_code(run) -> None:
    api, runtime = run([event("r1", b'{"code": 7}')], "loopfns.exits")
    post = api.wait_post()
    assert post.path.endswith("/r1/error")
    assert post.headers["lambda-runtime-function-error-type"] == "Runtime.ExitError"
    error = body(post)
    assert error["errorType"] == "Runtime.ExitError" and "exit status 7" in error["errorMessage"]
    assert 'sys.exit(event.get("code", 4))' in error["stackTrace"][-1]
    code = runtime.wait()
    assert code == 7


def test_unserializable_result_is_a_marshal_error_and_the_loop_continues(run) -> None:
    api, _ = run([event("r1", b'{"fn": "unserializable"}'), event("r2", b'{"fn": "echo"}')], "loopfns.dispatch")
    error = api.wait_post()
    assert error.path.endswith("/r1/error")
    assert body(error) == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": "r1",
        "stackTrace": [],
    }
    assert error.headers["lambda-runtime-function-error-type"] == "Runtime.MarshalError"
    assert api.wait_post().path.endswith("/r2/response")


def test_trace_id_is_set_per_invocation_and_cleared(run) -> None:
    api, _ = run([event("r1", Lambda_Runtime_Trace_Id="Root=1-a;Sampled=1"), event("r2")], "loopfns.echo")
    assert body(api.wait_post())["trace"] == "Root=1-a;Sampled=1"
    assert body(api.wait_post())["trace"] is None


def test_sync_handler_start_up_imports_no_asyncio_uvloop_or_httpx(run) -> None:
    api, _ = run([event("r1")], "loopfns.modules")
    assert body(api.wait_post()) == []


def test_async_handler_runs_on_one_persistent_uvloop(run) -> None:
    api, _ = run([event(f"r{i}") for i in range(3)], "asyncfns.handler")
    results = [body(api.wait_post()) for _ in range(3)]
    loops = results[-1]["loops"]
    assert len(loops) == 3 and len(set(loops)) == 1  # one loop, kept; the init-time Lock works on it
    assert results[-1]["flavour"].startswith("uvloop")


def test_sync_handler_may_call_asyncio_run(run) -> None:
    # Mangum and Powertools' resolve_async do this; it needs no running loop in the thread.
    api, _ = run([event("r1")], "loopfns.sync_with_asyncio_run")
    assert body(api.wait_post()) == "ran"


def test_telemetry_fd_gets_framed_records(run, tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, True)
    api = FakeRuntimeAPI([event("r1", b'{"fn": "unserializable"}')])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_LAMBDA"))}
    env.update({"AWS_LAMBDA_RUNTIME_API": api.address, "_LAMBDA_TELEMETRY_LOG_FD": str(write_fd)})
    proc = subprocess.Popen(
        [sys.executable, "-m", "lambdaloop", "loopfns.dispatch"], cwd=FUNCTIONS, env=env, pass_fds=(write_fd,)
    )
    try:
        os.close(write_fd)
        api.wait_post()
        header = os.read(read_fd, 16)
        assert header[:4] == (0xA55A0017).to_bytes(4, "big")  # ERROR, text format
        length = int.from_bytes(header[4:8], "big")
        message = b""
        while len(message) < length:
            message += os.read(read_fd, length - len(message))
        assert message.startswith(b"[ERROR] Runtime.MarshalError: Unable to marshal response")
        assert b"\nTraceback (most recent call last):" in message  # "\n", not "\r", in fd mode
    finally:
        proc.kill()
        proc.wait()
        os.close(read_fd)
        api.close()


@pytest.mark.parametrize(("fn", "error_type"), [("base_exception", "Escape"), ("cancelled", "CancelledError")])
def test_base_exceptions_other_than_exit_are_invocation_errors(run, fn: str, error_type: str) -> None:
    api, runtime = run([event("r1", f'{{"fn": "{fn}"}}'.encode()), event("r2", b'{"fn": "echo"}')], "loopfns.dispatch")
    error = api.wait_post()
    assert error.path.endswith("/r1/error") and body(error)["errorType"] == error_type
    assert api.wait_post().path.endswith("/r2/response")  # the process lives on
    assert runtime.proc.poll() is None


def test_orjson_codec_is_opt_in_and_compact(run) -> None:
    api, _ = run([event("r1", b'{"a": [1, 2]}')], "loopfns.echo", env={"LAMBDALOOP_JSON": "orjson"})
    post = api.wait_post()
    assert post.body.startswith(b'{"event":{"a":[1,2]},"n":1,')


def test_orjson_codec_without_orjson_is_an_init_error(run, tmp_path: Path) -> None:
    """LAMBDALOOP_JSON=orjson on an install without the extra: a clear /init/error, exit 1."""
    blocker = tmp_path / "orjson.py"
    blocker.write_text("raise ImportError('No module named orjson (blocked for this test)')\n")
    env = {"LAMBDALOOP_JSON": "orjson", "PYTHONPATH": str(tmp_path)}
    api, runtime = run([event("r1")], "loopfns.echo", env=env)
    post = api.wait_post()
    assert post.path == "/2018-06-01/runtime/init/error"
    assert "orjson" in json.loads(post.body)["errorMessage"]
    assert runtime.wait() == 1
