"""The loop under every Lambda Python version this machine has (3.10 to 3.14).

Only the stdlib is needed for these paths (results, errors, init errors, async on
asyncio's own loop), so each interpreter runs the source tree directly, through the polyglot
`bootstrap` as Lambda starts it, and its stderr must stay clean (a SyntaxWarning from the
bootstrap's sh half would show in every cold start's logs on 3.12+). Versions that are not
installed are skipped by name, so a reader sees which ones ran.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pythons import VERSIONS, find_python  # tests/pythons.py

from .fakeapi import FakeRuntimeAPI, event

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = Path(__file__).parent / "functions"


@pytest.mark.parametrize("version", VERSIONS)
def test_loop_runs_on(version: str) -> None:
    python = find_python(version)
    if python is None:
        pytest.skip(f"python{version} is not installed here")
    events = [
        event("ok", b'{"fn": "echo", "x": "\\u00e9"}'),
        event("err", b'{"fn": "unserializable"}'),
        event("async", b'{"fn": "cancelled"}'),
    ]
    with FakeRuntimeAPI(events) as api:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "LAMBDALOOP_PYTHON": python,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "LAMBDALOOP_SIGTERM": "0",
        }
        proc = subprocess.Popen([str(ROOT / "bootstrap"), "loopfns.dispatch"], cwd=FUNCTIONS, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
        try:
            ok, err, cancelled = (api.wait_post(timeout=30) for _ in range(3))
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
    assert ok.path.endswith("/ok/response") and json.loads(ok.body)["event"]["x"] == "é"
    assert err.path.endswith("/err/error")
    assert json.loads(err.body)["errorType"] == "Runtime.MarshalError"
    assert json.loads(cancelled.body)["errorType"] == "CancelledError"
    assert stderr.decode(errors="replace") == ""


@pytest.mark.parametrize("version", VERSIONS)
def test_concurrent_async_invocations_run_on(version: str) -> None:
    """Lambda Managed Instances with an async handler (asyncio's own loop where uvloop is not
    installed): invocations overlap, and each task, the tasks it starts and its worker threads
    see their own invocation's trace id."""
    python = find_python(version)
    if python is None:
        pytest.skip(f"python{version} is not installed here")
    with FakeRuntimeAPI([]) as api:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "LAMBDALOOP_PYTHON": python,
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "AWS_LAMBDA_MAX_CONCURRENCY": "4",
            "LAMBDALOOP_SIGTERM": "0",
        }
        proc = subprocess.Popen([str(ROOT / "bootstrap"), "asyncslots.handler"], cwd=FUNCTIONS, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
        try:
            # All 4 slots poll before any event exists, so the 4 invocations must overlap.
            deadline = time.monotonic() + 30
            while sum(r.path.endswith("/invocation/next") for r in api.requests) < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            for i in range(4):
                api.events.put(event(f"r{i}", b'{"sleep": 0.3}', Lambda_Runtime_Trace_Id=f"Root=1-{i:08x}"))
            bodies = [json.loads(api.wait_post(timeout=30).body) for _ in range(4)]
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
    assert max(b["start"] for b in bodies) < min(b["end"] for b in bodies)
    for body in bodies:
        own = f"Root=1-{int(body['request_id'][1:]):08x}"
        assert body["trace"] == body["trace_in_task"] == body["trace_in_thread"] == own
    assert stderr.decode(errors="replace") == ""
