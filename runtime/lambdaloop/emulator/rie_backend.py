"""The same local loop through AWS's Runtime Interface Emulator binary, in classic mode.

Used by ``lambdaloop invoke|serve --rie`` and by the tests that hold our emulator to the
RIE's answers. The RIE always gets explicit loopback addresses (its default listens on
0.0.0.0:8080) and runs in its own process group, which is killed as a whole at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import IO

from lambdaloop.emulator.config import EmulatorConfig


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_listening(host: str, port: int, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the process exited before it listened")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.01)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


class RieProcess:
    """A running RIE. ``invoke_address`` is where the invoke API listens."""

    def __init__(
        self,
        rie_path: str,
        config: EmulatorConfig,
        output: IO[str] | None = None,
        line_sink: Callable[[str], None] | None = None,
        log_level: str | None = None,
    ) -> None:
        self.rie_path = rie_path
        self.config = config
        self.invoke_port = config.invoke_port or free_port()
        self.runtime_port = config.runtime_port or free_port()
        self._output = output
        self._line_sink = line_sink
        self.log_level = log_level
        self.process: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    @property
    def invoke_address(self) -> str:
        return f"{self.config.host}:{self.invoke_port}"

    def environment(self) -> dict[str, str]:
        config = self.config
        env = dict(os.environ)
        # The RIE builds the runtime's environment from its own plus these knobs; the task
        # root and region, which it does not set, are passed through the same way.
        env.update(
            AWS_LAMBDA_FUNCTION_TIMEOUT=str(max(1, round(config.timeout_s))),
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(config.memory_mb),
            AWS_LAMBDA_FUNCTION_NAME=config.function_name,
            AWS_LAMBDA_FUNCTION_HANDLER=config.handler,
            LAMBDA_TASK_ROOT=config.task_root,
            AWS_REGION=config.region,
            PYTHONUNBUFFERED="1",
        )
        env.update(config.env)
        return env

    def start(self) -> RieProcess:
        host = self.config.host
        argv = [
            self.rie_path,
            *(["--log-level", self.log_level] if self.log_level else []),
            "--runtime-interface-emulator-address",
            f"{host}:{self.invoke_port}",
            "--runtime-api-address",
            f"{host}:{self.runtime_port}",
            *self.config.resolved_command(),
        ]
        self.process = subprocess.Popen(
            argv,
            env=self.environment(),
            cwd=self.config.task_root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._pump = threading.Thread(target=self._copy_output, name="rie-output", daemon=True)
        self._pump.start()
        try:
            wait_listening(
                host, self.invoke_port, 10.0, lambda: self.process is not None and self.process.poll() is None
            )
        except BaseException:
            self.stop()
            raise
        return self

    def _copy_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if self._line_sink is not None:
                self._line_sink(line)
            if self._output is not None:
                with contextlib.suppress(ValueError, OSError):
                    print(line, file=self._output, flush=True)

    def stop(self) -> None:
        """SIGTERM (the RIE then ends its runtime as Lambda does), SIGKILL to the whole group
        if it lingers."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        # The runtime sits in its own group under the RIE's; the RIE's group goes as a whole.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(5)
        if self._pump is not None:
            self._pump.join(2)
        if process.stdout is not None and (self._pump is None or not self._pump.is_alive()):
            process.stdout.close()

    def __enter__(self) -> RieProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
