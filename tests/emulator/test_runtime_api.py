"""What the RIE cannot do or does wrong, checked against the Runtime API's documented behaviour: streamed invokes,
mid-stream error trailers, response-mode validation, stale and double posts, queued
overlapping invokes. The runtime is a hand-written client (corpus/raw_runtime.py)."""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path

from lambdaloop.emulator import client

from .conftest import RAW_RUNTIME, emulator, read_jsonl, wait_for_records


def _raw(tmp_path: Path, **overrides: object):
    log = tmp_path / "raw.jsonl"
    return emulator("x.y", RAW_RUNTIME, env={"RAW_LOG": str(log)}, **overrides), log


def _posted(log: Path) -> list[dict]:
    return wait_for_records(log, "posted")


def test_streamed_chunks_reach_the_invoker_before_the_response_ends(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    running, log = _raw(tmp_path)
    with running as running:
        event = {"action": "stream", "pieces": ["first ", "second ", "third"], "gate": str(gate)}
        stream = client.invoke_stream(running.invoke_address, json.dumps(event).encode(), timeout=30)
        assert stream.result.status == 200
        assert stream.result.headers.get("lambda-runtime-function-response-mode") == "streaming"
        assert stream.result.headers.get("content-type") == "text/plain"
        chunks = stream.chunks()
        # The runtime cannot send anything more until the gate exists: this chunk came alone.
        assert next(chunks) == b"first "
        gate.touch()
        rest = b"".join(chunks)
        posted = _posted(log)
    assert rest == b"second third"
    assert len(stream.result.trailers) == 0
    assert posted[0]["answer"] == [202, '{"status":"OK"}']


def test_buffered_invoke_of_a_streamed_response_gets_the_whole_body(tmp_path: Path) -> None:
    running, _ = _raw(tmp_path)
    with running as running:
        event = {"action": "stream", "pieces": ["a", "b", "c"]}
        result = client.invoke(running.invoke_address, json.dumps(event).encode())
    assert (result.status, result.body) == (200, b"abc")


def test_mid_stream_error_arrives_as_trailers(tmp_path: Path) -> None:
    running, _ = _raw(tmp_path)
    with running as running:
        event = json.dumps({"action": "stream_error", "pieces": ["partial"]}).encode()
        stream = client.invoke_stream(running.invoke_address, event)
        body = b"".join(stream.chunks())
        buffered = client.invoke(running.invoke_address, event)
    assert body == b"partial"
    trailers = stream.result.trailers
    assert trailers.get("Lambda-Runtime-Function-Error-Type") == "StreamBroke"
    error = json.loads(base64.b64decode(trailers.get("Lambda-Runtime-Function-Error-Body") or ""))
    assert error == {"errorMessage": "broke", "errorType": "StreamBroke", "stackTrace": []}
    # The classic RIE drops the error and returns the partial body; we report it.
    assert buffered.status == 200
    assert buffered.headers.get("x-amz-function-error") == "Unhandled"
    assert json.loads(buffered.body)["errorType"] == "StreamBroke"


def test_any_response_mode_but_streaming_is_refused(tmp_path: Path) -> None:
    running, log = _raw(tmp_path)
    with running as running:
        result = client.invoke(running.invoke_address, b'{"action": "bad_mode"}', timeout=30)
        status, answer = _posted(log)[0]["answer"]
    assert status == 400
    assert json.loads(answer) == {
        "errorMessage": "Invalid function response mode",
        "errorType": "InvalidFunctionResponseMode",
    }
    # The RIE leaves this invoke hanging until the timeout; the invoker hears at once.
    assert json.loads(result.body)["errorType"] == "Runtime.InvalidResponseModeHeader"


def test_too_large_response_while_the_runtime_lives_on(tmp_path: Path) -> None:
    running, log = _raw(tmp_path)
    with running as running:
        result = client.invoke(running.invoke_address, b'{"action": "too_big"}')
        after = client.invoke(running.invoke_address, b'{"action": "echo"}')
        status, answer = _posted(log)[0]["answer"]
    assert status == 413
    assert json.loads(answer)["errorType"] == "RequestEntityTooLarge"
    # Runtime still alive and back in /next: 200, as the RIE answers then.
    assert result.status == 200
    assert json.loads(result.body)["errorType"] == "Function.ResponseSizeTooLarge"
    assert json.loads(after.body) == {"seen": {"action": "echo"}}


def test_unknown_stale_and_second_posts(tmp_path: Path) -> None:
    running, log = _raw(tmp_path)
    with running as running:
        result = client.invoke(running.invoke_address, b'{"action": "wrong_ids"}')
        wait_for_records(log, "second")
    assert result.body == b'"fine"'
    records = {r["what"]: r for r in read_jsonl(log)}
    assert records["unknown_id"]["answer"][0] == 400
    assert json.loads(records["unknown_id"]["answer"][1])["errorType"] == "InvalidRequestID"
    assert records["stale"]["answer"][0] == 410
    assert records["second"]["answer"][0] == 403
    assert json.loads(records["second"]["answer"][1])["errorType"] == "InvalidStateTransition"


def test_overlapping_invokes_queue_instead_of_crashing(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    running, _ = _raw(tmp_path)
    results: dict[str, client.InvokeResult] = {}
    with running as running:
        first = {"action": "stream", "pieces": ["one", "two"], "gate": str(gate)}
        stream = client.invoke_stream(running.invoke_address, json.dumps(first).encode())
        chunks = stream.chunks()
        assert next(chunks) == b"one"  # the first invoke is now in flight

        def second() -> None:
            results["second"] = client.invoke(running.invoke_address, b'{"action": "echo", "n": 2}')

        thread = threading.Thread(target=second)
        thread.start()
        gate.touch()
        assert b"".join(chunks) == b"two"
        thread.join(30)
    assert results["second"].status == 200
    assert json.loads(results["second"].body) == {"seen": {"action": "echo", "n": 2}}


def test_event_above_the_payload_limit_is_refused_not_truncated(tmp_path: Path) -> None:
    running, log = _raw(tmp_path)
    with running as running:
        result = client.invoke(running.invoke_address, b'"' + b"e" * (6 * 1024 * 1024 + 100) + b'"')
    assert result.status == 413
    assert json.loads(result.body)["errorType"] == "RequestEntityTooLargeException"
    assert not [r for r in read_jsonl(log) if r["what"] == "next"]


def test_timeout_in_the_middle_of_a_stream(tmp_path: Path) -> None:
    never = tmp_path / "never"  # the gate stays shut: the runtime hangs after one piece
    running, _ = _raw(tmp_path, timeout_s=1.0)
    with running as running:
        event = {"action": "stream", "pieces": ["early", "never sent"], "gate": str(never)}
        stream = client.invoke_stream(running.invoke_address, json.dumps(event).encode(), timeout=30)
        body = b"".join(stream.chunks())
        after = client.invoke(running.invoke_address, b'{"action": "echo"}', timeout=30)
    assert body == b"early"
    assert stream.result.trailers.get("Lambda-Runtime-Function-Error-Type") == "Sandbox.Timedout"
    assert stream.result.error_body == b"Task timed out after 1.00 seconds"
    # The hung runtime was killed; the next invoke got a fresh one.
    assert json.loads(after.body) == {"seen": {"action": "echo"}}
