"""End to end: an invoking client, a platform, a real runtime process.

- Through lambdaloop's own emulator and its streaming invoke endpoint
  (``POST /2021-11-15/functions/function/response-streaming-invocations``): chunks reach the
  client while the handler still runs; error trailers reach it too.
- Through AWS's RIE (classic mode), which has no streaming endpoint: it takes the streamed
  response, hands it over whole at the end, and drops mid-stream error trailers
  (observed with the pinned RIE binary). The test pins that down so nobody mistakes the RIE
  for a streaming test bed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .test_asgi import url_event

FUNCTIONS = Path(__file__).parent / "functions"
REPO = Path(__file__).resolve().parents[2]
HTTP_TYPE = "application/vnd.awslambda.http-integration-response"

emulator = pytest.importorskip("lambdaloop.emulator")
from procs import free_port, wait_process_listening  # noqa: E402

from lambdaloop.emulator.client import invoke as emulator_invoke  # noqa: E402
from lambdaloop.emulator.client import invoke_stream  # noqa: E402


@contextlib.contextmanager
def running_emulator(handler: str) -> Iterator[Any]:
    config = emulator.EmulatorConfig(handler=handler, task_root=str(FUNCTIONS), extensions_dir=None)
    emu = emulator.BackgroundEmulator(config).start()
    try:
        yield emu
    finally:
        emu.close()  # ends the runtime process it started


def test_emulator_client_sees_the_first_chunk_before_the_handler_finishes(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with running_emulator("streamfns.gated_gen") as emu:
        stream = invoke_stream(emu.invoke_address, json.dumps({"gate": str(gate)}).encode(), timeout=20)
        assert stream.result.status == 200
        assert stream.result.headers.get("lambda-runtime-function-response-mode") == "streaming"
        chunks = stream.chunks()
        assert next(chunks) == b"first"  # while the handler is blocked on the gate
        gate.touch()
        assert list(chunks) == [b"second"]
        assert stream.result.function_error is None


def test_emulator_mid_stream_error_reaches_the_client_as_trailers() -> None:
    with running_emulator("streamfns.agen_fails_midway") as emu:
        stream = invoke_stream(emu.invoke_address, b"{}", timeout=20)
        assert b"".join(stream.chunks()) == b"async partial"
        assert stream.result.function_error == "RuntimeError"
        error = json.loads(stream.result.error_body or b"")
        assert error["errorType"] == "RuntimeError" and error["errorMessage"] == "async producer died"


def test_emulator_error_before_first_byte_and_http_prelude() -> None:
    with running_emulator("streamfns.gen_fails_before_first") as emu:
        stream = invoke_stream(emu.invoke_address, b"{}", timeout=20)
        body = b"".join(stream.chunks())
        assert stream.result.function_error == "ValueError"
        assert json.loads(body)["errorMessage"] == "nothing to stream"
    with running_emulator("streamfns.http_writer_empty") as emu:
        stream = invoke_stream(emu.invoke_address, b"{}", timeout=20)
        body = b"".join(stream.chunks())
        assert stream.result.headers.get("content-type") == HTTP_TYPE
        meta, sep, payload = body.partition(b"\x00" * 8)
        assert sep and json.loads(meta)["statusCode"] == 404 and payload == b""


def test_emulator_asgi_server_sent_events(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with running_emulator("asgiapp.handler") as emu:
        payload = json.dumps(url_event("/sse", query=f"gate={gate}")).encode()
        stream = invoke_stream(emu.invoke_address, payload, timeout=20)
        received = b""
        chunks = stream.chunks()
        while b"data: first\n\n" not in received:
            received += next(chunks)
        meta, _, events = received.partition(b"\x00" * 8)
        assert json.loads(meta)["headers"]["content-type"] == "text/event-stream; charset=utf-8"
        gate.touch()
        events += b"".join(chunks)
        assert events == b"data: first\n\ndata: 0\n\ndata: 1\n\n"
        # The same runtime answers the buffered endpoint too (the whole body at the end).
        buffered = emulator_invoke(emu.invoke_address, json.dumps(url_event("/")).encode(), timeout=20)
        assert buffered.body.endswith(b"\x00" * 8 + b"hello")


# -- AWS's RIE ---------------------------------------------------------------------------------


def _pids_with_marker(marker: str) -> list[int]:
    """Processes whose environment carries ``marker``: the RIE and the runtime it started
    in its own process group."""
    needle = f"LAMBDALOOP_STREAM_TEST={marker}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


@pytest.fixture
def rie() -> Iterator[Any]:
    try:
        from lambdaloop.rie import RieUnavailable, ensure_rie

        binary = ensure_rie()
    except (ImportError, RieUnavailable) as exc:
        pytest.skip(f"the RIE is not available: {exc}")
    marker = uuid.uuid4().hex
    procs: list[subprocess.Popen[bytes]] = []

    def start(handler: str) -> str:
        invoke_port, api_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_HANDLER", "LAMBDA_", "_LAMBDA"))}
        env.update(
            _HANDLER=handler,
            LAMBDA_TASK_ROOT=str(FUNCTIONS),
            LAMBDALOOP_PYTHON=sys.executable,
            LAMBDALOOP_STREAM_TEST=marker,
            AWS_LAMBDA_FUNCTION_TIMEOUT="20",
        )
        command = [
            str(binary),
            "--runtime-interface-emulator-address", f"127.0.0.1:{invoke_port}",
            "--runtime-api-address", f"127.0.0.1:{api_port}",
            str(REPO / "bootstrap"),
        ]  # fmt: skip
        procs.append(
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=FUNCTIONS)
        )
        wait_process_listening(procs[-1], invoke_port, 10.0)
        return f"127.0.0.1:{invoke_port}"

    yield start
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=10)
    for pid in _pids_with_marker(marker):  # the runtime, in the RIE's own process group
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _rie_invoke(address: str, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes, float, float]:
    """Status, headers, body, seconds to the first body byte, seconds to the end."""
    host, port = address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        started = time.monotonic()
        conn.request("POST", "/2015-03-31/functions/function/invocations", json.dumps(payload).encode())
        response = conn.getresponse()
        first = response.read(1)
        first_at = time.monotonic() - started
        body = first + response.read()
        return response.status, dict(response.getheaders()), body, first_at, time.monotonic() - started
    finally:
        conn.close()


def test_rie_buffers_a_streamed_response_and_drops_its_trailers(rie, tmp_path: Path) -> None:
    address = rie("streamfns.slow_pair")
    _rie_invoke(address, {"pause": 0})  # the cold start out of the way
    status, headers, body, first_at, total = _rie_invoke(address, {"pause": 0.6})
    assert status == 200 and body == b"early late"
    # Through a streaming platform the first byte would come at once; the RIE holds it
    # until the runtime finished the whole response.
    assert first_at >= 0.55, f"first byte after {first_at:.3f}s: the RIE streamed?"
    assert total - first_at < 0.2  # and then everything at once
    address = rie("streamfns.gen_fails_midway")
    status, headers, body, _, _ = _rie_invoke(address, {})
    # The mid-stream error trailers are dropped: 200, the partial body, no error anywhere.
    assert status == 200 and body == b"partial"
    assert not any(name.lower().startswith(("x-amz-function-error", "lambda-runtime")) for name in headers)
