"""Fixtures: the runtime as a real ``python -m lambdaloop`` subprocess against a fake
Runtime API; every process and server is ended at teardown, whatever the test did."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .fakeapi import StreamingFakeAPI

FUNCTIONS = Path(__file__).parent / "functions"


class RuntimeProcess:
    def __init__(self, address: str, handler: str, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_LAMBDA", "_X_AMZN"))}
        full_env.update({"AWS_LAMBDA_RUNTIME_API": address, "AWS_LAMBDA_FUNCTION_NAME": "f"})
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lambdaloop", handler],
            cwd=FUNCTIONS,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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


@pytest.fixture
def start() -> Iterator[Callable[..., tuple[StreamingFakeAPI, RuntimeProcess]]]:
    started: list[tuple[StreamingFakeAPI, RuntimeProcess]] = []

    def _start(
        events: list[tuple[dict[str, str], bytes]], handler: str, env: dict[str, str] | None = None, **api: Any
    ) -> tuple[StreamingFakeAPI, RuntimeProcess]:
        fake = StreamingFakeAPI(events, **api)
        runtime = RuntimeProcess(fake.address, handler, env)
        started.append((fake, runtime))
        return fake, runtime

    yield _start
    for fake, runtime in started:
        runtime.stop()
        fake.close()
