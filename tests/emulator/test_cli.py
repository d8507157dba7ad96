"""The ``lambdaloop`` console script, run as a user would run it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lambdaloop.emulator import client, routes
from lambdaloop.emulator.rie_backend import free_port, wait_listening

from .conftest import REPO

CLI = [sys.executable, "-m", "lambdaloop.cli"]


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=REPO, capture_output=True, text=True, timeout=120, input=stdin)


def test_invoke_hello_with_a_sample_event() -> None:
    done = _run("invoke", "examples/hello.handler", "--event", "apigw-v2")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["path"] == "/hello"
    assert "REPORT RequestId:" in done.stderr and "Init Duration:" in done.stderr


def test_invoke_reports_a_function_error_with_exit_code_1() -> None:
    done = _run("invoke", "examples/hello.missing", "--event", "-", stdin="{}")
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "Runtime.HandlerNotFound"
    assert "Runtime.HandlerNotFound" in done.stderr


def test_invoke_stream_prints_the_chunks() -> None:
    done = _run("invoke", "examples/stream.handler", "--stream", "--event", '{"count": 2, "delay": 0}')
    assert done.returncode == 0, done.stderr
    assert done.stdout == "chunk 1 of 2\nchunk 2 of 2\n"


def test_bad_event_is_a_usage_error() -> None:
    done = _run("invoke", "examples/hello.handler", "--event", "no-such-sample")
    assert done.returncode == 2
    assert "apigw-v2" in done.stderr  # the message lists what exists


def test_events_lists_the_samples() -> None:
    done = _run("events")
    assert done.stdout.split() == ["apigw-v1", "apigw-v2", "eventbridge", "function-url", "s3", "sqs"]
    for name in done.stdout.split():
        json.loads(_run("events", name).stdout)


def test_invoke_through_the_real_rie(rie_path: str) -> None:
    done = _run("invoke", "examples/hello.handler", "--event", "apigw-v1", "--rie", rie_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["body"])["path"] == "/hello"
    assert "REPORT RequestId:" in done.stderr


class Served:
    """``lambdaloop serve`` in its own session on a free port."""

    def __init__(self, *args: str) -> None:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.server = subprocess.Popen(
            [*CLI, "serve", *args, "--port", str(port)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_listening("127.0.0.1", port, 30, lambda: self.server.poll() is None)

    def stop(self) -> str:
        """SIGTERM, as a user's Ctrl-C: it must exit 0. What it printed."""
        self.server.send_signal(signal.SIGTERM)
        assert self.server.wait(30) == 0
        return self.server.stdout.read().decode() if self.server.stdout else ""


@contextmanager
def serving(*args: str) -> Iterator[Served]:
    served = Served(*args)
    try:
        yield served
    finally:
        if served.server.poll() is None:
            os.killpg(served.server.pid, signal.SIGKILL)
            served.server.wait(10)
        if served.server.stdout is not None:
            served.server.stdout.close()


def test_serve_answers_the_rie_invoke_api_until_sigterm() -> None:
    with serving("examples/hello.handler") as served:
        for path in ("/a", "/b"):
            result = client.invoke(served.address, json.dumps({"rawPath": path}).encode(), path=routes.INVOKE_PATH)
            assert json.loads(json.loads(result.body)["body"])["path"] == path
        output = served.stop()
    assert output.count("REPORT RequestId:") == 2


def test_serve_through_the_rie_never_overlaps_invokes(rie_path: str) -> None:
    """Two invokes at once would crash the classic RIE; the gate in front queues them."""
    import threading

    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "examples/stream.handler", "--port", str(port), "--rie", rie_path],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    results: list[client.InvokeResult] = []
    try:
        wait_listening("127.0.0.1", port, 30, lambda: server.poll() is None)
        event = json.dumps({"count": 2, "delay": 0.3}).encode()

        def call() -> None:
            results.append(client.invoke(f"127.0.0.1:{port}", event, timeout=60))

        threads = [threading.Thread(target=call) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert [r.status for r in results] == [200, 200, 200]
        assert {r.body for r in results} == {b"chunk 1 of 2\nchunk 2 of 2\n"}
        assert server.poll() is None  # the RIE behind is still up
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)


def test_init_error_and_timeout_are_reported_clearly() -> None:
    corpus = str(REPO / "tests" / "emulator" / "corpus")
    init = _run("invoke", "initerr.handler", "--task-root", corpus)
    assert init.returncode == 1
    assert json.loads(init.stdout)["errorMessage"] == "init failed on purpose"
    assert "INIT_REPORT Init Duration:" in init.stderr and "Status: error" in init.stderr
    slow = _run("invoke", "funcs.slow", "--task-root", corpus, "--timeout", "1")
    assert slow.returncode == 1
    assert slow.stdout.strip() == "Task timed out after 1.00 seconds"
    assert "Status: timeout" in slow.stderr


# What the user's function does, and what `lambdaloop invoke` must make of it, on both paths.
OUTCOMES = """
import os
import time


def succeeds(event, context):
    return {"ok": True}


def returns_an_error_shape(event, context):
    # A result that looks like an error body is still a result: exit 0.
    return {"errorType": "NotAnError", "errorMessage": "just data"}


def raises(event, context):
    raise ValueError("raised on purpose")


def crashes(event, context):
    os._exit(7)


def sleeps(event, context):
    time.sleep(30)
"""


@pytest.mark.parametrize("backend", ["builtin", "rie"])
@pytest.mark.parametrize(
    ("handler", "code", "error"),
    [
        ("succeeds", 0, None),
        ("returns_an_error_shape", 0, None),
        ("raises", 1, "ValueError"),
        ("crashes", 1, "Runtime.ExitError"),
        ("sleeps", 1, None),
    ],
)
def test_invoke_exit_code_says_whether_the_function_failed(
    backend: str, handler: str, code: int, error: str | None, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    (tmp_path / "outcomes.py").write_text(OUTCOMES)
    extra = ["--rie", request.getfixturevalue("rie_path")] if backend == "rie" else []
    done = _run("invoke", f"outcomes.{handler}", "--task-root", str(tmp_path), "--timeout", "1", *extra)
    assert done.returncode == code, done.stdout + done.stderr
    failures = [line for line in done.stderr.splitlines() if line.startswith("lambdaloop: the invoke failed")]
    if code == 0:
        assert failures == []
        assert "[DEBUG]" not in done.stderr  # the RIE runs at debug level for the verdict; not shown
    else:
        assert len(failures) == 1, done.stderr
    if error:
        assert f"({error})" in failures[0]
    if handler == "sleeps":
        assert done.stdout.strip() == "Task timed out after 1.00 seconds"


def test_invoke_snapstart_restores_the_snapshot_as_often_as_asked() -> None:
    corpus = str(REPO / "tests" / "emulator" / "corpus")
    done = _run(
        "invoke",
        "snapstart_fn.handler",
        "--task-root",
        corpus,
        "--extensions-dir",
        "",
        "--snapstart",
        "--restores",
        "3",
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(answers) == 3 and len({a["pid"] for a in answers}) == 3 and len({a["token"] for a in answers}) == 1
    assert done.stderr.count("INIT_REPORT Init Duration:") == 1
    assert done.stderr.count("RESTORE_REPORT Restore Duration:") == 3
    assert "uniqueness" not in done.stderr  # this function shares nothing it should not
    # Nothing else on stderr: the platform's lines and the one note on how restores are made.
    expected = re.compile(
        r"INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: success"
        r"|lambdaloop: snapshot: the initialized runtime parked in /restore/next; each restore forks it"
        r"|RESTORE_REPORT Restore Duration: [\d.]+ ms|(START|END|REPORT) RequestId: .*"
    )
    assert [line for line in done.stderr.splitlines() if not expected.fullmatch(line)] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--restores", "2"], "--restores goes with --snapstart"),
        (["--snapstart", "--restores", "0"], "--restores must be 1 or more"),
        (["--snapstart", "--rie", "auto"], "--snapstart runs on the built-in emulator"),
        (["--snapstart", "--concurrency", "2"], "--snapstart runs on the built-in emulator"),
    ],
)
def test_invoke_snapstart_refuses_what_it_cannot_do(args: list[str], message: str) -> None:
    done = _run("invoke", "examples/hello.handler", "--extensions-dir", "", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert done.stdout == ""


def test_snapstart_refuses_external_extensions_it_would_not_run(tmp_path: Path) -> None:
    extension = tmp_path / "my-extension"
    extension.write_text("#!/bin/sh\n")
    extension.chmod(0o755)
    done = _run("invoke", "examples/hello.handler", "--snapstart", "--extensions-dir", str(tmp_path))
    assert done.returncode == 2
    assert "--snapstart does not run external extensions yet" in done.stderr and "my-extension" in done.stderr


def test_serve_snapstart_restores_a_new_environment_after_a_crash() -> None:
    corpus = str(REPO / "tests" / "emulator" / "corpus")
    with serving("snapstart_fn.handler", "--task-root", corpus, "--extensions-dir", "", "--snapstart") as served:
        warm = [json.loads(client.invoke(served.address, b"{}").body) for _ in range(2)]
        crashed = client.invoke(served.address, b'{"exit": true}')
        restored = json.loads(client.invoke(served.address, b"{}").body)
        output = served.stop()
    assert warm[0]["pid"] == warm[1]["pid"] and crashed.status == 502
    assert restored["pid"] != warm[0]["pid"] and restored["token"] == warm[0]["token"]
    assert output.count("INIT_REPORT") == 1 and output.count("RESTORE_REPORT") == 2
