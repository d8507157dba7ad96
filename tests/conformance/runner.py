"""Run one runtime (awslambdaric or lambdaloop) as a subprocess against a fresh recorder.

A scenario is one process: a handler string, an environment and a script of ``/next``
answers. The run ends when the runtime asks for one ``/next`` more than the script holds
(it is then idle and alive), or when it exits by itself; in both cases every process this
module started has ended before ``run_runtime`` returns, even when something fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .recorder import NextAnswer, RecordedRequest, RecordingRuntimeAPI

HANDLERS_DIR = Path(__file__).resolve().parent / "handlers"
RUNTIMES: dict[str, tuple[str, ...]] = {
    "awslambdaric": (sys.executable, "-m", "awslambdaric"),
    "lambdaloop": (sys.executable, "-m", "lambdaloop"),
}
# What a run may take at most; the whole suite takes a few seconds, so this is only a guard.
RUN_TIMEOUT_S = 30.0

# The same environment for both runtimes. AWS_Lambda_python3.12 makes awslambdaric emit
# non-ASCII JSON unescaped, which lambdaloop always does (README, "What is better"); it also turns on
# awslambdaric's thread polling, which changes nothing on the wire.
BASE_ENV: dict[str, str] = {
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_LAMBDA_FUNCTION_NAME": "conformance",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/conformance",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]0123456789abcdef",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",  # keep the handlers folder clean
    "PYTHONHASHSEED": "0",
}

Telemetry = Literal["file", "pipe"] | None


@dataclass(frozen=True)
class Scenario:
    """One runtime process: ``id`` is what pytest shows."""

    id: str
    handler: str
    script: tuple[NextAnswer, ...]
    env: tuple[tuple[str, str], ...] = ()
    telemetry: Telemetry = None

    @property
    def log_format(self) -> str:
        return "json" if dict(self.env).get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON" else "text"

    def __str__(self) -> str:
        return self.id


@dataclass
class RunResult:
    runtime: str
    scenario: Scenario
    requests: list[RecordedRequest]
    connections: int
    stdout: bytes
    stderr: bytes
    telemetry: bytes | None
    returncode: int
    reached_idle: bool  # asked for one more /next than scripted, i.e. alive at the end
    started_at_us: int
    ended_at_us: int
    recorder_errors: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{self.runtime} {self.scenario.id}: rc={self.returncode} idle={self.reached_idle} "
            f"requests={len(self.requests)}\n--- stdout ---\n{self.stdout.decode('utf-8', 'replace')[-3000:]}"
            f"\n--- stderr ---\n{self.stderr.decode('utf-8', 'replace')[-3000:]}"
        )


def _environment(scenario: Scenario, address: str, extra: Mapping[str, str]) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **BASE_ENV, **dict(scenario.env), **extra}
    env["AWS_LAMBDA_RUNTIME_API"] = address
    return env


class _PipeDrain(threading.Thread):
    """Reads the telemetry pipe as the runtime writes it, so a full pipe never blocks a log call."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.data = bytearray()

    def run(self) -> None:
        while chunk := os.read(self.fd, 1 << 16):
            self.data += chunk
        os.close(self.fd)


def run_runtime(runtime: str, scenario: Scenario, extra_env: Mapping[str, str] | None = None) -> RunResult:
    with (
        RecordingRuntimeAPI(scenario.script) as api,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() as telemetry_file,
    ):
        env = _environment(scenario, api.address, extra_env or {})
        pass_fds: tuple[int, ...] = ()
        drain: _PipeDrain | None = None
        write_end: int | None = None
        if scenario.telemetry == "file":
            pass_fds = (telemetry_file.fileno(),)
        elif scenario.telemetry == "pipe":
            read_end, write_end = os.pipe()
            drain = _PipeDrain(read_end)
            drain.start()
            pass_fds = (write_end,)
        if pass_fds:
            env["_LAMBDA_TELEMETRY_LOG_FD"] = str(pass_fds[0])
        started = time.time_ns() // 1000
        proc = subprocess.Popen(
            [*RUNTIMES[runtime], scenario.handler],
            cwd=HANDLERS_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            pass_fds=pass_fds,
        )
        if write_end is not None:
            os.close(write_end)  # the child holds the only write end: EOF when it dies
        try:
            reached_idle = _wait_idle_or_exit(proc, api)
        finally:
            returncode = _end(proc)
        ended = time.time_ns() // 1000
        if drain is not None:
            drain.join(timeout=5)
            telemetry: bytes | None = bytes(drain.data)
        elif scenario.telemetry == "file":
            telemetry_file.seek(0)
            telemetry = telemetry_file.read()
        else:
            telemetry = None
        out.seek(0)
        err.seek(0)
        return RunResult(
            runtime=runtime,
            scenario=scenario,
            requests=api.requests,
            connections=api.connection_count,
            stdout=out.read(),
            stderr=err.read(),
            telemetry=telemetry,
            returncode=returncode,
            reached_idle=reached_idle,
            started_at_us=started,
            ended_at_us=ended,
            recorder_errors=[repr(e) for e in api.errors],
        )


def _wait_idle_or_exit(proc: subprocess.Popen[bytes], api: RecordingRuntimeAPI) -> bool:
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        if api.exhausted.wait(0.005):
            return True
        if proc.poll() is not None:
            return False
    raise TimeoutError(f"runtime neither idled nor exited within {RUN_TIMEOUT_S}s")


def _end(proc: subprocess.Popen[bytes]) -> int:
    """End the runtime: SIGTERM (what Lambda sends), then SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def run_both(scenario: Scenario, runtimes: tuple[str, ...] = ("awslambdaric", "lambdaloop")) -> dict[str, RunResult]:
    """The same scenario under each runtime, at the same time (each has its own recorder)."""
    with ThreadPoolExecutor(max_workers=len(runtimes)) as pool:
        futures = {name: pool.submit(run_runtime, name, scenario) for name in runtimes}
        return {name: future.result() for name, future in futures.items()}
