"""_X_AMZN_TRACE_ID through putenv buffers: os.environ and the C environment (what child
processes inherit) agree on every value, across the switch from plain sets, repeated values,
values the user's code set in between, and unsetting. Run in a child process: it changes the
environment of the process it runs in."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import ctypes, os, subprocess
    from lambdaloop.traceenv import PLAIN_SETS, TRACE_ENV, TraceEnvironment

    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p

    def seen():
        c = libc.getenv(TRACE_ENV.encode())
        child = subprocess.run(["sh", "-c", 'printf %s "${_X_AMZN_TRACE_ID-<unset>}"'], capture_output=True, text=True)
        return os.environ.get(TRACE_ENV), c.decode() if c is not None else None, child.stdout

    env = TraceEnvironment()
    steps = [f"Root=1-{i}" for i in range(PLAIN_SETS + 2)]
    steps += ["Root=1-same", "Root=1-same", None, None, "Root=1-" + "x" * 3000, "Root=1-after-long"]
    for value in steps:
        env.set(value)
        expected = (value, value, value if value is not None else "<unset>")
        assert seen() == expected, (value, seen())
    os.environ[TRACE_ENV] = "set-by-user"
    env.set("Root=1-same")  # the same value as before the user's: must be written again
    assert seen() == ("Root=1-same",) * 3, seen()
    os.environ[TRACE_ENV] = "set-by-user"
    env.set(None)
    assert seen() == (None, None, "<unset>"), seen()
    print("ok")
    """
)


def test_os_environ_and_the_c_environment_agree_on_every_value() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
