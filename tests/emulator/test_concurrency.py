"""The emulator's Lambda Managed Instances mode (``lambdaloop serve|invoke --concurrency N``):
up to N invocations at once through the real runtime (async handler: tasks in one process per
CPU; sync: one process each), the runtime given the LMI engine's environment, and an invoke
that finds no runtime waiting answered at once with 400 Runtime.Unavailable, byte for byte as
the RIE's LMI engine answers it (tests/lmi/test_rie_lmi_unavailable.py holds the two together)."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest

from lambdaloop.emulator import BackgroundEmulator, EmulatorConfig, client

FUNCTION = '''
import asyncio, os, time

async def handler(event, context):
    print("from", context.aws_request_id, flush=True)
    started = time.time()
    await asyncio.sleep(float(event.get("sleep", 0.5)))
    return {"id": context.aws_request_id, "pid": os.getpid(), "start": started, "end": time.time(),
            "stdout": os.readlink("/proc/self/fd/1"),
            "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_MAX_CONCURRENCY", "AWS_LAMBDA_INITIALIZATION_TYPE",
                                                   "AWS_LAMBDA_LOG_FORMAT")}}

def sync_handler(event, context):
    time.sleep(float(event.get("sleep", 0.5)))
    return {"pid": os.getpid()}
'''


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    (tmp_path / "lmiapp.py").write_text(FUNCTION)
    return tmp_path


def _config(task_root: Path, handler: str, concurrency: int) -> EmulatorConfig:
    config = EmulatorConfig(handler=handler, command=[sys.executable, "-m", "lambdaloop", handler])
    config.task_root = str(task_root)
    config.extensions_dir = None
    config.timeout_s = 20
    config.concurrency = concurrency
    config.env = {"LAMBDALOOP_SIGTERM": "0"}
    return config


def _together(address: str, bodies: list[bytes]) -> list[client.InvokeResult]:
    results: list[client.InvokeResult | None] = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def one(i: int) -> None:
        barrier.wait(10)
        results[i] = client.invoke(address, bodies[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _wait_parked(emulator: BackgroundEmulator, count: int) -> None:
    # The LMI engine starts the runtime at once; invokes only go to runtimes waiting in /next.
    import time

    deadline = time.monotonic() + 20
    while emulator.emulator.sandbox.runtimes_waiting < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_n_invocations_at_once_then_runtime_unavailable(task_root: Path) -> None:
    with BackgroundEmulator(_config(task_root, "lmiapp.handler", 4)) as emulator:
        _wait_parked(emulator, 4)
        results = _together(emulator.invoke_address, [b'{"sleep": 1}'] * 5)
        emulator.wait_idle()
        logs = [(entry.source, entry.line) for entry in emulator.logs]
    refused = [r for r in results if r.status == 400]
    answered = [json.loads(r.body) for r in results if r.status == 200]
    assert len(refused) == 1 and len(answered) == 4
    assert refused[0].body == b'{"errorType":"Runtime.Unavailable"}'
    assert refused[0].headers.get("content-type") == "application/json"
    assert max(a["start"] for a in answered) < min(a["end"] for a in answered)  # concurrent
    assert len({a["pid"] for a in answered}) <= len(os.sched_getaffinity(0))  # tasks, not a process each
    # Workers write to the platform's log socket (as under the LMI engine), collected as runtime output.
    assert all(a["stdout"].startswith("socket:") for a in answered)
    printed = {line.split()[-1] for source, line in logs if source == "runtime" and line.startswith("from ")}
    assert {a["id"] for a in answered} <= printed
    assert answered[0]["env"] == {
        "AWS_LAMBDA_MAX_CONCURRENCY": "4",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "lambda-managed-instances",
        "AWS_LAMBDA_LOG_FORMAT": "json",
    }


def test_a_sync_handler_gets_a_process_per_invocation(task_root: Path) -> None:
    with BackgroundEmulator(_config(task_root, "lmiapp.sync_handler", 3)) as emulator:
        _wait_parked(emulator, 3)
        results = _together(emulator.invoke_address, [b'{"sleep": 0.5}'] * 3)
    assert [r.status for r in results] == [200, 200, 200]
    assert len({json.loads(r.body)["pid"] for r in results}) == 3


def test_cli_concurrency_option_is_validated() -> None:
    from lambdaloop.cli import main

    assert main(["invoke", "x.handler", "--concurrency", "0"]) == 2
    assert main(["invoke", "x.handler", "--concurrency", "2", "--rie", "auto"]) == 2


def test_the_readme_example_serves_concurrently(tmp_path: Path) -> None:
    """`lambdaloop serve examples/concurrent.handler --concurrency 8`, as the README shows it."""
    import socket
    import subprocess
    import time

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, LAMBDALOOP_SIGTERM="0", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "lambdaloop.cli", "serve", "examples/concurrent.handler", "--concurrency", "8"]
    cmd += ["--port", str(port), "--extensions-dir", ""]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # listening yet?
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        answers: list[client.InvokeResult] = []
        while time.monotonic() < deadline:  # the runtime starts at once; wait until all 8 slots poll
            answers = _together(address, [b'{"wait": 1}'] * 8)
            if all(a.status == 200 for a in answers):
                break
            time.sleep(0.2)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode(errors="replace")
    bodies = [json.loads(a.body) for a in answers]
    assert len({b["requestId"] for b in bodies}) == 8, output[-2000:]
    assert len({b["pid"] for b in bodies}) <= len(os.sched_getaffinity(0))
    assert "Traceback" not in output
