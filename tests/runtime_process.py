"""A lambdaloop runtime as a real subprocess, for the tests that drive it against a fake
Runtime API (tests/loop, tests/streaming, bench/streaming.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path


class RuntimeProcess:
    def __init__(self, address: str, handler: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_LAMBDA", "_X_AMZN"))}
        full_env.update({"AWS_LAMBDA_RUNTIME_API": address, "AWS_LAMBDA_FUNCTION_NAME": "f"})
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lambdaloop", handler],
            cwd=cwd,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: forked workers are ended with it
        )
        # Drained all along: a runtime logging a large error must never block on a full pipe.
        self._chunks: list[bytes] = []
        self._drain = threading.Thread(target=self._read_output, daemon=True)
        self._drain.start()

    def _read_output(self) -> None:
        assert self.proc.stdout is not None
        for block in iter(lambda: self.proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            self._chunks.append(block)

    @property
    def output(self) -> str:
        return b"".join(self._chunks).decode("utf-8", "replace")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float = 20) -> int:
        code = self.proc.wait(timeout=timeout)
        self._drain.join(timeout=5)
        return code

    def stop(self) -> str:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._drain.join(timeout=5)
        return self.output
