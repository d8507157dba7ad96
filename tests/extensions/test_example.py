"""The example in examples/extensions/log-forwarder, run as a layer would be: its launcher
in an extensions directory, its code in the sibling ``python/``, on the built-in emulator."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import pytest

from .helpers import FUNCTIONS

emulator = pytest.importorskip("lambdaloop.emulator", reason="the built-in emulator is not available")
from lambdaloop.emulator.client import invoke  # noqa: E402

LAYER = Path(__file__).resolve().parents[2] / "examples" / "extensions" / "log-forwarder"


def run_with_layer(tmp_path: Path, target: str) -> list[str]:
    opt = tmp_path / "opt"
    shutil.copytree(LAYER / "extensions", opt / "extensions")
    shutil.copytree(LAYER / "python", opt / "python")
    config = emulator.EmulatorConfig(
        handler="extfns.echo",
        task_root=str(FUNCTIONS),
        extensions_dir=str(opt / "extensions"),
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
