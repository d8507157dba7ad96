"""Extensions API and Telemetry API, which the classic RIE cannot exercise without root
(/opt/extensions) and does not have at all (telemetry)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lambdaloop.emulator import client

from .conftest import CORPUS, RAW_RUNTIME, emulator, read_jsonl

# The function under test runs in the real lambdaloop loop.
LAMBDALOOP = [sys.executable, "-m", "lambdaloop"]


def _extensions_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "extensions"
    directory.mkdir()
    target = directory / "probe-ext"
    target.write_text(f"#!{sys.executable}\n" + (CORPUS / "ext_probe.py").read_text())
    target.chmod(0o755)
    return directory


def test_register_invoke_shutdown_and_telemetry(tmp_path: Path) -> None:
    log = tmp_path / "shared.jsonl"
    directory = _extensions_dir(tmp_path)
    env = {"EXT_LOG": str(log), "EXT_DELAY": "0.3"}
    with emulator("printer.handler", LAMBDALOOP, env=env, extensions_dir=str(directory)) as running:
        for n in (1, 2):
            result = client.invoke(running.invoke_address, json.dumps({"n": n, "log": str(log)}).encode())
            assert json.loads(result.body) == {"n": n}
        running.wait_idle()
    records = read_jsonl(log)
    registered = next(r for r in records if r["what"] == "registered")
    assert registered["status"] == 200
    assert registered["body"] == {
        "functionName": "test_function",
        "functionVersion": "$LATEST",
        "handler": "printer.handler",
        "accountId": "012345678912",
    }
    assert registered["env_handler"] is None  # extensions do not see _HANDLER
    assert next(r for r in records if r["what"] == "subscribed")["status"] == 200

    events = [r["event"] for r in records if r["what"] == "event"]
    assert [e["eventType"] for e in events] == ["INVOKE", "INVOKE", "SHUTDOWN"]
    assert events[0]["invokedFunctionArn"].endswith(":function:test_function")
    assert events[0]["deadlineMs"] > 0 and events[0]["requestId"]
    assert events[2]["shutdownReason"] == "SPINDOWN"

    # The second invoke reached the function only after the extension came back to
    # /event/next from the first (it dawdles 0.3 s first).
    order = [r["what"] + str(r.get("n", "")) for r in records if r["what"] in ("handled", "back")]
    assert order[:3] == ["handled1", "back", "handled2"]

    delivered = [item for r in records if r["what"] == "telemetry" for item in r["batch"]]
    types = [item["type"] for item in delivered]
    for expected in ("platform.start", "platform.runtimeDone", "platform.report", "function"):
        assert expected in types, types
    functions = [item["record"] for item in delivered if item["type"] == "function"]
    assert "hello from the function 1" in " ".join(functions)
    report = next(item["record"] for item in delivered if item["type"] == "platform.report")
    assert report["status"] == "success"
    assert set(report["metrics"]) >= {"durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB"}
    for item in delivered:
        assert set(item) == {"time", "type", "record"}
        assert item["time"].endswith("Z")


def test_internal_extension_rules_and_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "raw.jsonl"
    env = {"RAW_LOG": str(log), "RAW_REGISTER_INTERNAL": "1"}
    with emulator("x.y", RAW_RUNTIME, env=env) as running:
        result = client.invoke(running.invoke_address, b'{"action": "echo"}')
        assert result.status == 200
    records = {r["what"]: r for r in read_jsonl(log)}
    refused = records["register_shutdown"]
    assert refused["status"] == 403
    assert json.loads(refused["answer"])["errorType"] == "Extension.InvalidEventType"
    assert records["register_none"]["status"] == 200
    # An extension registered, so shutdown began with SIGTERM to the runtime.
    assert "sigterm" in records


def test_without_extensions_the_runtime_gets_no_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "raw.jsonl"
    with emulator("x.y", RAW_RUNTIME, env={"RAW_LOG": str(log)}) as running:
        assert client.invoke(running.invoke_address, b'{"action": "echo"}').status == 200
    assert "sigterm" not in {r["what"] for r in read_jsonl(log)}


def test_an_extension_that_dies_in_init_fails_the_invoke(tmp_path: Path) -> None:
    directory = tmp_path / "extensions"
    directory.mkdir()
    broken = directory / "broken"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    with emulator("funcs.ok", LAMBDALOOP, extensions_dir=str(directory)) as running:
        result = client.invoke(running.invoke_address, b"{}")
    assert result.status == 502
    assert result.headers.get("x-amz-function-error") == "Unhandled"
