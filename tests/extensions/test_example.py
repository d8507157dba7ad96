"""The example in examples/extensions/log-forwarder, run as a layer would be: its launcher
in an extensions directory, its code in the sibling ``python/``, on the built-in emulator
(driven from here, and through ``lambdaloop invoke --extensions-dir`` as a user would)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import FUNCTIONS

emulator = pytest.importorskip("lambdaloop.emulator", reason="the built-in emulator is not available")
from lambdaloop.emulator.client import invoke  # noqa: E402

LAYER = Path(__file__).resolve().parents[2] / "examples" / "extensions" / "log-forwarder"


def unpack_layer(tmp_path: Path) -> Path:
    """The layer as Lambda unpacks it under /opt; returns the extensions directory."""
    opt = tmp_path / "opt"
    shutil.copytree(LAYER / "extensions", opt / "extensions")
    shutil.copytree(LAYER / "python", opt / "python")
    return opt / "extensions"


def run_with_layer(tmp_path: Path, target: str) -> list[str]:
    config = emulator.EmulatorConfig(
        handler="extfns.echo",
        task_root=str(FUNCTIONS),
        extensions_dir=str(unpack_layer(tmp_path)),
        timeout_s=10,
        env={"LAMBDALOOP_PYTHON": sys.executable, "LOG_FORWARDER_TARGET": target},
    )
    request_ids = []
    with emulator.BackgroundEmulator(config) as emu:
        for i in range(2):
            result = invoke(emu.invoke_address, json.dumps({"n": i}).encode(), timeout=20)
            assert result.status == 200, result.body
        request_ids = [line.line.split()[2] for line in emu.logs if line.line.startswith("START RequestId:")]
    return request_ids


def check(lines: list[dict[str, object]], request_ids: list[str]) -> None:
    invokes = [line for line in lines if line["type"] == "invoke"]
    assert [i["requestId"] for i in invokes] == request_ids
    assert all(i["function"] == "test_function" and i["deadlineMs"] > 0 for i in invokes)
    assert all(str(i["invokedFunctionArn"]).endswith(":function:test_function") for i in invokes)
    logs = [line["message"] for line in lines if line["type"] == "log"]
    assert "function says {'n': 0}" in logs and "function says {'n': 1}" in logs
    metrics = [line for line in lines if line["type"] == "metrics"]
    assert [m["requestId"] for m in metrics] == request_ids
    assert all(m["function"] == "test_function" and isinstance(m["durationMs"], float) for m in metrics)
    assert all(m["billedDurationMs"] >= 1 and m["memorySizeMB"] > 0 for m in metrics)


def test_forwards_logs_and_report_metrics_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "forwarded.jsonl"
    request_ids = run_with_layer(tmp_path, f"file://{out}")
    check([json.loads(line) for line in out.read_text().splitlines()], request_ids)


def test_forwards_to_a_udp_socket(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(0.2)
        request_ids = run_with_layer(tmp_path, f"udp://127.0.0.1:{receiver.getsockname()[1]}")
        datagrams = []
        while True:
            try:
                datagrams.append(json.loads(receiver.recv(65536)))
            except TimeoutError:
                break
    check(datagrams, request_ids)


def lambdaloop_cli() -> list[str]:
    """The ``lambdaloop`` console script of the interpreter running the tests (what ``./dev
    invoke`` runs), or the same entry point through ``-m`` where no script was installed
    (lambdaloop on PYTHONPATH only)."""
    script = Path(sys.executable).with_name("lambdaloop")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "lambdaloop.cli"]


def test_runs_next_to_a_function_under_lambdaloop_invoke(tmp_path: Path) -> None:
    out = tmp_path / "forwarded.jsonl"
    trace = "Root=1-65f0a1b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
    cmd = [
        *lambdaloop_cli(), "invoke", "extfns.echo", "--task-root", str(FUNCTIONS), "--timeout", "10",
        "--extensions-dir", str(unpack_layer(tmp_path)), "--event", '{"n": 7}',
        "--request-id", "req-forwarded-1", "--trace-id", trace,
        # The launcher looks for an interpreter as in Lambda; here it is the one running the tests.
        "--env", f"LAMBDALOOP_PYTHON={sys.executable}", "--env", f"LOG_FORWARDER_TARGET=file://{out}",
    ]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"n": 7}
    # `lambdaloop invoke` returns once the environment has shut down, so the extension has
    # written its last batch and closed the file by now.
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    by_type = {kind: [line for line in lines if line["type"] == kind] for kind in ("invoke", "log", "metrics")}
    assert len(lines) == sum(map(len, by_type.values())), lines  # nothing else, nothing malformed
    (invoke,) = by_type["invoke"]
    assert invoke["requestId"] == "req-forwarded-1"
    assert invoke["traceId"] == trace
    assert invoke["invokedFunctionArn"].startswith("arn:aws:lambda:")  # the region may come from the caller's env
    assert invoke["invokedFunctionArn"].endswith(":function:test_function")
    assert [log["message"] for log in by_type["log"]] == ["function says {'n': 7}"]
    (metrics,) = by_type["metrics"]
    assert metrics["requestId"] == "req-forwarded-1" and metrics["status"] == "success"
    assert metrics["billedDurationMs"] >= 1 and metrics["memorySizeMB"] == 3008
    assert metrics["maxMemoryUsedMB"] > 0 and metrics["initDurationMs"] > 0
    # The platform's REPORT line on stderr and the forwarded metrics are the same invocation.
    assert "REPORT RequestId: req-forwarded-1" in done.stderr
