"""SIGTERM while the loop waits in /next, under every Python this machine has (3.10-3.14):
PEP 475 must run our handler inside the blocking recv, SystemExit must come out of it, and
the daemon thread parked in event/next must not hold up the exit. The runtime starts through the
polyglot `bootstrap`, as on Lambda, and its stderr must be clean on every version."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from pythons import VERSIONS, find_python  # tests/pythons.py

from .helpers import FUNCTIONS, kinds, read_records
from .measure_startup import MiniApi

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("version", VERSIONS)
def test_sigterm_in_next_runs_hooks_and_exits(version: str, tmp_path: Path) -> None:
    python = find_python(version)
    if python is None:
        pytest.skip(f"python{version} is not installed here")
    api = MiniApi(hold_next=True)
    out = tmp_path / "function.jsonl"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LAMBDALOOP_PYTHON": python,  # the bootstrap finds runtime/ itself: stdlib only, no venv
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "EXT_TEST_OUT": str(out),
        "EXT_TEST_USER_SIGTERM": "1",
    }
    proc = subprocess.Popen([str(ROOT / "bootstrap"), "extfns.echo"], cwd=FUNCTIONS, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        assert api.first_next.wait(20), "the runtime never reached /next"
        assert len(api.registered) == 1 and b"Lambda-Extension-Name: lambdaloop-sigterm" in api.registered[0]
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=5)  # well inside the platform's 500 ms in practice
        output, errors = (stream.decode(errors="replace") for stream in proc.communicate())
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        api.close()
    assert code == 0, output + errors
    assert errors == ""
    assert kinds(read_records(out)) == ["on_shutdown_start", "on_shutdown_end", "user_sigterm", "atexit"]
