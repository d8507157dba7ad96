"""The pytest plugin, used the way a project would use it (the fixture comes from the
``pytest11`` entry point, not from a conftest)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lambdaloop.emulator.harness import InvokeError, LocalFunction

from .conftest import REPO


def test_invoke_through_the_real_loop(lambda_function) -> None:
    fn: LocalFunction = lambda_function("examples/hello.handler", task_root=str(REPO), timeout=10)
    result = fn.invoke({"rawPath": "/plugin"})
    assert result["statusCode"] == 200
    assert '"path": "/plugin"' in result["body"]
    assert '"message": "Hello from test_function"' in result["body"]
    assert any(line.startswith("REPORT RequestId:") for line in fn.platform_lines)
    types = [record["type"] for record in fn.telemetry]
    assert types.index("platform.start") < types.index("platform.runtimeDone") < types.index("platform.report")


def test_streaming_and_errors(lambda_function) -> None:
    fn: LocalFunction = lambda_function("examples/stream.handler", task_root=str(REPO), timeout=10)
    chunks = list(fn.invoke_stream({"count": 3, "delay": 0}))
    assert b"".join(chunks) == b"chunk 1 of 3\nchunk 2 of 3\nchunk 3 of 3\n"
    broken: LocalFunction = lambda_function("examples/stream.fail_midway", task_root=str(REPO), timeout=10)
    received = []
    with pytest.raises(InvokeError) as info:
        for chunk in broken.invoke_stream({}):
            received.append(chunk)
    assert received == [b"first part\n"]
    assert info.value.error_type == "RuntimeError"
    assert info.value.error["errorMessage"] == "the stream broke"
    with pytest.raises(InvokeError) as buffered:
        broken.invoke({})
    assert buffered.value.error_type == "RuntimeError"
    assert any("the stream broke" in line for line in broken.logs)


def test_fixture_ends_every_process(tmp_path) -> None:
    """A plugin test that fails still leaves no process behind: a second test in the same
    session (so the emulator's thread and sockets would still be there) checks the pid."""
    test_file = tmp_path / "test_child.py"
    test_file.write_text(
        "import os, pytest\n"
        "PIDS = []\n"
        "def test_fails(lambda_function):\n"
        f"    fn = lambda_function('examples/hello.handler', task_root={str(REPO)!r})\n"
        "    fn.invoke({})\n"
        "    PIDS.append(fn._emulator.emulator.sandbox.runtime.pid)\n"
        "    assert False, 'on purpose'\n"
        "def test_gone():\n"
        "    with pytest.raises(ProcessLookupError):\n"
        "        os.kill(PIDS[0], 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    assert "on purpose" in result.stdout


def test_plugin_import_is_cheap() -> None:
    code = "import sys, lambdaloop.pytest_plugin; print(sorted(m for m in ('asyncio', 'uvloop') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
