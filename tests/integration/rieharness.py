"""Run the real AWS Runtime Interface Emulator (classic mode) around a runtime command.

The RIE starts the runtime lazily at the first invoke, in its own process group, and restarts
it after a crash or a timeout, so the runtime's PIDs are discovered from /proc after every
invoke and remembered with their kernel start time: teardown then ends exactly those
processes (never by name) and proves that nothing is left by scanning /proc for a marker
variable that every process of one server inherits.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procs import descendants, free_port, start_time, stat_fields, wait_process_listening

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
BOOTSTRAP = REPO / "bootstrap"
FUNCTIONS = Path(__file__).resolve().parent / "functions"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
MARKER_VAR = "LAMBDALOOP_IT_MARKER"

# Variables that would change what the RIE or the runtime does if they leaked in from the
# developer's shell: AWS_LAMBDA_MAX_CONCURRENCY alone switches the RIE to its LMI engine.
_SCRUBBED_PREFIXES = ("AWS_", "_HANDLER", "_X_AMZN", "LAMBDA_", "_LAMBDA", "PYTHON", "VIRTUAL_ENV")

RUNTIMES = ("bootstrap", "module", "awslambdaric")


def runtime_command(runtime: str, handler: str) -> list[str]:
    """The command line the RIE runs as the bootstrap for one runtime flavour."""
    if runtime == "bootstrap":
        # The handler reaches the bootstrap only through _HANDLER, as in Lambda (provided.al2023).
        return [str(BOOTSTRAP)]
    if runtime == "module":
        return [PYTHON, "-m", "lambdaloop", handler]
    if runtime == "awslambdaric":
        return [PYTHON, "-m", "awslambdaric", handler]
    raise ValueError(f"unknown runtime {runtime!r}; expected one of {RUNTIMES}")


def b64_json(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


# ------------------------------------------------------------------ /proc helpers


def _alive(pid: int, start: str) -> bool:
    """True if the same process (same start time) still exists and is not a zombie."""
    return start_time(pid) == start


def pids_with_marker(marker: str) -> list[int]:
    """Live processes whose environment carries MARKER_VAR=marker (they inherited it from our RIE)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            fields = stat_fields(int(name))
            if fields is not None and fields[0] not in ("Z", "X"):
                found.append(int(name))
    return found


# ------------------------------------------------------------------ invoke result


@dataclass
class InvokeResult:
    status: int
    headers: dict[str, str]
    body: bytes
    request_id: str

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:  # short enough for assertion messages
        return f"InvokeResult(status={self.status}, request_id={self.request_id!r}, body={self.body[:500]!r})"


@dataclass
class _Tracked:
    pid: int
    start: str
    pgid: int


@dataclass
class RieServer:
    """One RIE process in classic mode with one runtime command. Start with start(), end with stop()."""

    name: str
    command: list[str]
    handler: str
    workdir: Path
    task_root: Path = FUNCTIONS
    env: Mapping[str, str] = field(default_factory=dict)
    invoke_port: int = 0
    api_port: int = 0
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    proc: subprocess.Popen[bytes] | None = None
    tracked: dict[int, _Tracked] = field(default_factory=dict)
    _busy: threading.Lock = field(default_factory=threading.Lock)

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def build_env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
        # The venv first, so a bootstrap that runs "python3" gets the interpreter that has lambdaloop.
        base["PATH"] = f"{VENV_BIN}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}"
        base.update(
            {
                # The RIE reads the handler from AWS_LAMBDA_FUNCTION_HANDLER and exports it as _HANDLER.
                "AWS_LAMBDA_FUNCTION_HANDLER": self.handler,
                "_HANDLER": self.handler,
                # The classic RIE does not set LAMBDA_TASK_ROOT; Lambda does, and runtimes rely on it.
                "LAMBDA_TASK_ROOT": str(self.task_root),
                # Keep the source tree free of __pycache__ from handler modules.
                "PYTHONDONTWRITEBYTECODE": "1",
                MARKER_VAR: self.marker,
            }
        )
        base.update(self.env)
        return base

    def start(self, ready_timeout: float = 15.0) -> RieServer:
        from lambdaloop.rie import ensure_rie

        self.invoke_port, self.api_port = free_port(), free_port()
        argv = [
            str(ensure_rie()),
            "--runtime-interface-emulator-address", f"127.0.0.1:{self.invoke_port}",
            "--runtime-api-address", f"127.0.0.1:{self.api_port}",
            *self.command,
        ]  # fmt: skip
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / f"{self.name}.argv").write_text(json.dumps(argv))
        log = open(self.log_path, "wb")  # noqa: SIM115 - the child owns the fd; we close our copy below
        try:
            # cwd = task root, as in Lambda (/var/task): awslambdaric finds handlers through the cwd.
            self.proc = subprocess.Popen(
                argv, env=self.build_env(), cwd=self.task_root, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        try:
            wait_process_listening(self.proc, self.invoke_port, ready_timeout, logs=self.output)
        except RuntimeError:
            self.stop()
            raise
        return self

    # -------------------------------------------------------------- invoking

    def invoke(
        self,
        payload: bytes | str | object = b"{}",
        *,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> InvokeResult:
        """One invoke on a fresh connection. Never concurrent: an overlapping invoke makes the RIE panic."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError("overlapping invoke on one RIE (it would crash the RIE)")
        try:
            if isinstance(payload, str):
                body = payload.encode()
            elif isinstance(payload, bytes):
                body = payload
            else:
                body = json.dumps(payload).encode()
            rid = request_id or f"it-{uuid.uuid4()}"
            hdrs = {"X-Amzn-RequestId": rid, "Content-Type": "application/json", **(headers or {})}
            conn = http.client.HTTPConnection("127.0.0.1", self.invoke_port, timeout=timeout)
            try:
                conn.request("POST", INVOKE_PATH, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
                result = InvokeResult(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, rid)
            finally:
                conn.close()
                self.track()
            return result
        finally:
            self._busy.release()

    # -------------------------------------------------------------- processes

    def track(self) -> None:
        """Remember every current descendant of the RIE (the runtime and anything it started)."""
        if self.proc is None:
            return
        for pid in descendants(self.proc.pid):
            fields = stat_fields(pid)
            if fields is not None and pid not in self.tracked:
                self.tracked[pid] = _Tracked(pid, fields[19], int(fields[2]))

    def runtime_pids(self) -> list[int]:
        self.track()
        return [t.pid for t in self.tracked.values() if _alive(t.pid, t.start)]

    def wait_runtime_gone(self, pid: int, timeout: float = 10.0) -> bool:
        """Wait until the runtime process pid has exited (True) or the timeout passed (False)."""
        t = self.tracked.get(pid)
        if t is None:
            return True
        deadline = time.monotonic() + timeout
        while _alive(t.pid, t.start):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def stop(self) -> list[str]:
        """End the RIE and its runtime's process groups by PID; return a description of leftovers."""
        problems: list[str] = []
        if self.proc is None:
            return problems
        self.track()
        if self.proc.poll() is None:
            # SIGTERM is the RIE's normal shutdown: it SIGKILLs (or, with an extension registered,
            # SIGTERMs) the runtime itself. It takes about 0.6 s at most; SIGKILL if it does not.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                problems.append("RIE ignored SIGTERM for 5 s")
                self.proc.kill()
                self.proc.wait(5)
        # Whatever the RIE left behind: each runtime is a group leader, so end its whole group.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(_alive(t.pid, t.start) for t in self.tracked.values()):
            time.sleep(0.02)
        for t in self.tracked.values():
            if _alive(t.pid, t.start):
                problems.append(f"runtime pid {t.pid} (pgid {t.pgid}) survived the RIE's shutdown")
                with contextlib.suppress(ProcessLookupError):
                    if t.pgid == t.pid:
                        os.killpg(t.pgid, signal.SIGKILL)
                    else:
                        os.kill(t.pid, signal.SIGKILL)
        # Orphans that left the tree (a double fork) still carry the marker in their environment.
        deadline = time.monotonic() + 2.0
        stray = pids_with_marker(self.marker)
        while stray and time.monotonic() < deadline:
            time.sleep(0.05)
            stray = pids_with_marker(self.marker)
        for pid in stray:
            problems.append(f"stray process {pid} with our marker left after teardown")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return problems

    # -------------------------------------------------------------- output

    def output(self) -> str:
        try:
            return self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return ""

    def output_mark(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def output_since(self, mark: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(mark)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_output(self, needle: str, mark: int = 0, timeout: float = 10.0) -> str:
        """Output since mark once it contains needle (the runtime's pipes may lag the response)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.output_since(mark)
            if needle in text or time.monotonic() > deadline:
                return text
            time.sleep(0.02)


class RiePool:
    """Starts RIEs on demand and reuses one per (runtime, handler, env) where tests allow it."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.servers: list[RieServer] = []
        self._shared: dict[tuple[object, ...], RieServer] = {}

    def shared(
        self, runtime: str, handler: str, env: Mapping[str, str] | None = None, task_root: Path = FUNCTIONS
    ) -> RieServer:
        key = (runtime, handler, tuple(sorted((env or {}).items())), str(task_root))
        server = self._shared.get(key)
        if server is None or server.proc is None or server.proc.poll() is not None:
            server = self.fresh(runtime, handler, env, task_root)
            self._shared[key] = server
        return server

    def fresh(
        self, runtime: str, handler: str, env: Mapping[str, str] | None = None, task_root: Path = FUNCTIONS
    ) -> RieServer:
        name = f"rie{len(self.servers):02d}-{runtime}-{handler.replace('/', '_')}"
        server = RieServer(
            name=name, command=runtime_command(runtime, handler), handler=handler,
            workdir=self.workdir, task_root=task_root, env=dict(env or {}),
        )  # fmt: skip
        self.servers.append(server)
        return server.start()

    def stop_all(self) -> list[str]:
        problems: list[str] = []
        for server in self.servers:
            problems.extend(f"{server.name}: {p}" for p in server.stop())
        return problems
