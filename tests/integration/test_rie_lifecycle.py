"""The runtime's life under the RIE: timeouts, exits inside a handler, restarts, teardown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from expect import ERROR_KEYS, frame
from rieharness import FUNCTIONS, RiePool, pids_with_marker


def test_timeout_then_restarted_runtime(rie_fresh: RiePool, runtime: str) -> None:
    server = rie_fresh.fresh(runtime, "app.sleeper", {"AWS_LAMBDA_FUNCTION_TIMEOUT": "1"})
    first = server.invoke({"seconds": 0})
    assert first.status == 200, first
    old_pid = first.json()["pid"]
    # The handler would sleep 30 s; the RIE gives up after 1 s and SIGKILLs the runtime.
    res = server.invoke({"seconds": 30}, timeout=25)
    assert res.status == 200, res
    assert res.body == b"Task timed out after 1.00 seconds"
    assert server.wait_runtime_gone(old_pid), f"runtime {old_pid} still alive after the timeout"
    after = server.invoke({"seconds": 0})
    assert after.status == 200, after
    assert after.json()["pid"] != old_pid, "the next invoke must run on a new runtime process"


def test_exit_in_handler_restarts_the_runtime(rie_fresh: RiePool, runtime: str) -> None:
    server = rie_fresh.fresh(runtime, "app.exiter")
    old_pid = server.invoke({}).json()["pid"]
    mark = server.output_mark()
    res = server.invoke({"exit": 3})
    # The RIE holds a handler's answer until the runtime's next /next; the runtime exits
    # instead, so the invoker gets 502 whether or not something was posted first.
    assert res.status == 502, res
    body = res.json()
    assert body["errorType"] == "Runtime.ExitError", body
    # The process really ended with the handler's status.
    text = server.wait_output("exited: exit status", mark)
    assert re.search(r"Process runtime-\d+ exited: exit status 3\b", text), text
    assert server.wait_runtime_gone(old_pid)
    after = server.invoke({})
    assert after.status == 200, after
    assert after.json()["pid"] != old_pid


def test_exit_in_handler_awslambdaric_posts_nothing(rie_fresh: RiePool) -> None:
    # Reference: awslambdaric posts nothing, so the RIE reports the exit itself with a 502.
    server = rie_fresh.fresh("awslambdaric", "app.exiter")
    res = server.invoke({"exit": 3})
    assert res.status == 502, res
    assert res.json() == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {res.request_id} Error: Runtime exited with error: exit status 3",
    }


@pytest.mark.lambdaloop_only
def test_exit_in_handler_posts_exit_error_first(rie_fresh: RiePool, runtime: str) -> None:
    # lambdaloop posts Runtime.ExitError to /error before exiting. The RIE holds an /error
    # answer until the runtime's next /next, sees the exit instead and answers 502 (observed
    # every time, whatever the delay between the post and the exit), but with the body the
    # runtime posted: awslambdaric's key order and a stackTrace, which the RIE's own
    # {"errorType","errorMessage"} body never has.
    server = rie_fresh.fresh(runtime, "app.exiter")
    res = server.invoke({"exit": 3})
    assert res.status == 502, res
    body = res.json()
    assert list(body) == ERROR_KEYS, body
    assert body["errorType"] == "Runtime.ExitError"
    assert body["requestId"] == res.request_id
    assert body["errorMessage"] == f"RequestId: {res.request_id} Error: Runtime exited with error: exit status 3"
    # The trace shows where the exit came from.
    assert body["stackTrace"][-1] == frame(FUNCTIONS / "app.py", "exiter", 'sys.exit(event["exit"])'), body


def test_teardown_leaves_nothing(rie_fresh: RiePool, runtime: str) -> None:
    # The harness itself: after stop_all the RIE and every runtime process are gone.
    server = rie_fresh.fresh(runtime, "app.counter")
    assert server.invoke({}).status == 200
    pids = server.runtime_pids()
    assert len(pids) == 1, pids
    assert pids_with_marker(server.marker), "the marker scan must see the live runtime"
    assert rie_fresh.stop_all() == []
    assert server.proc is not None and server.proc.poll() is not None
    assert server.runtime_pids() == []
    assert pids_with_marker(server.marker) == []


SIGTERM_MODULE = """
import os
import signal
import sys


def _on_term(signum, frame):
    print(f"user sigterm handler ran in {os.getpid()}", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, _on_term)


def handler(event, context):
    return os.getpid()
"""


@pytest.mark.lambdaloop_only
def test_user_sigterm_handler_runs_at_shutdown(rie_fresh: RiePool, runtime: str, tmp_path: Path) -> None:
    # awslambdaric's runtime is SIGKILLed at once (no extension registered, and its /next wait
    # blocks signals anyway); lambdaloop registers an internal extension so the RIE sends SIGTERM
    # first, and the user's handler, installed at import, must still be the one that runs.
    root = tmp_path / "task"
    root.mkdir()
    (root / "sigmod.py").write_text(SIGTERM_MODULE)
    server = rie_fresh.fresh(runtime, "sigmod.handler", task_root=root)
    pid = server.invoke({}).json()
    assert rie_fresh.stop_all() == []
    assert f"user sigterm handler ran in {pid}" in server.wait_output(f"handler ran in {pid}", timeout=5)
