"""AWS's RIE in its Lambda Managed Instances (LMI) engine, as a harness for tests and benchmarks.

With ``AWS_LAMBDA_MAX_CONCURRENCY`` in its environment the RIE runs its LMI engine, which is
not the classic one the other tests use: it ignores its command line and runs
``/var/runtime/bootstrap``, ``/var/task/bootstrap`` or ``/opt/bootstrap`` as uid 993 (gid 990)
with cwd ``/var/task``, starts it at once rather than at the first invoke, needs root, accepts
up to N overlapping invokes and answers any invoke that finds no runtime waiting in ``/next``
with ``400 {"errorType":"Runtime.Unavailable"}`` (no queue), and shuts down for good when the
runtime exits.

So each session runs the RIE in a private mount namespace (``unshare -m``, root), on a tmpfs
over ``/var`` holding:

- ``/var/task``: the function's files and a ``bootstrap`` that execs the runtime command;
- ``/var/lang``: the interpreter's installation (``sys.base_prefix``), bind-mounted, because uid
  993 cannot read an interpreter under a mode-700 home (pyenv under ``/root``); the bootstrap
  puts ``/var/lang/lib`` first on ``LD_LIBRARY_PATH`` for a shared ``libpython``;
- ``/var/deps``: what the runtimes import, copied and byte-compiled: ``lambdaloop`` from the
  checkout given (``lambdaloop_root``), and uvloop, awslambdaric 4.2.2, simplejson and
  awslambdaric's C client from this interpreter's environment. Copies, so neither the checkout
  nor the venv needs to be readable by uid 993 (they may live under ``/root``);

plus empty tmpfs over ``/opt`` (no stray ``/opt/bootstrap`` or ``/opt/extensions`` from the host)
and ``/tmp`` (fresh and writable, as on Lambda). The network is the host's: the RIE listens on
127.0.0.1 only. Every process is remembered with its start time and ended by PID.

    with LmiRie(tmp_path, "fns.handler", FUNCTIONS, runtime=LAMBDALOOP, concurrency=4) as rie:
        answers = rie.invoke_concurrently([b"{}"] * 4)   # retried while Runtime.Unavailable
        pids = rie.runtime_pids(); rie.terminate()       # SIGTERM, then its exit status
"""

from __future__ import annotations

import compileall
import contextlib
import http.client
import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from procs import descendants, free_port, memory_kib, start_time, wait_process_listening

ROOT = Path(__file__).resolve().parents[2]
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
RUNTIME_UID = 993  # the LMI engine's hard-coded credential for the runtime

# Runtime commands: what /var/task/bootstrap execs after the interpreter, then the handler.
LAMBDALOOP = ("-m", "lambdaloop")
AWSLAMBDARIC = ("-m", "awslambdaric")

# What the runtimes import from outside the standard library, by import name; awslambdaric's
# C client and snapshot-restore shim are top-level modules.
_DEPENDENCIES = ("uvloop", "awslambdaric", "simplejson", "runtime_client", "snapshot_restore_py")

# Runs as root in the new mount namespace, then becomes the RIE (same PID: nothing to reap).
# Everything it needs is first bound into a staging tmpfs over /mnt, because its sources may
# live under /var, /tmp or /opt (a checkout or HOME under /tmp), which are covered next.
MOUNT_SCRIPT = r"""
set -eu
work=$1 prefix=$2 rie=$3
shift 3
mount --make-rprivate /
mount -t tmpfs -o mode=0755 lmi-stage /mnt
mkdir /mnt/task /mnt/lang /mnt/deps
touch /mnt/aws-lambda-rie
mount --bind "$work/task" /mnt/task
mount --bind "$prefix" /mnt/lang
mount --bind "$work/deps" /mnt/deps
mount --bind "$rie" /mnt/aws-lambda-rie
mount -t tmpfs -o mode=0755 lmi-var /var
for dir in task lang deps; do
    mkdir -p "/var/$dir"
    mount --bind "/mnt/$dir" "/var/$dir"
    mount -o remount,bind,ro "/var/$dir"
done
mount -t tmpfs -o mode=0755 lmi-opt /opt
mount -t tmpfs -o mode=1777 lmi-tmp /tmp
cd /var/task
exec /mnt/aws-lambda-rie "$@"
"""

BOOTSTRAP = """#!/bin/sh
# Written by tests/lmi/rie_lmi.py: the runtime under test, as uid 993 in /var/task.
export PYTHONPATH=/var/task:/var/deps
export LD_LIBRARY_PATH=/var/lang/lib${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}
{exports}exec /var/lang/bin/{python} {runtime} "$_HANDLER"
"""


def why_not() -> str | None:
    """Why an LMI session cannot run here, or None."""
    if sys.platform != "linux":
        return "the RIE and mount namespaces need Linux"
    if os.geteuid() != 0:
        return "needs root: the RIE's LMI engine runs the runtime as uid 993, in a private mount namespace"
    if shutil.which("unshare") is None:
        return "needs util-linux unshare"
    missing = [name for name in _DEPENDENCIES if importlib.util.find_spec(name) is None]
    if missing:
        return f"this interpreter lacks {', '.join(missing)} (the dev extra installs them)"
    return None


@dataclass
class Invocation:
    request_id: str
    status: int
    body: bytes
    headers: dict[str, str]
    started: float  # time.monotonic() of the first attempt
    ended: float  # of the answer that counted
    unavailable: int = 0  # 400 Runtime.Unavailable answers retried before it

    @property
    def error_type(self) -> str | None:
        return self.headers.get("error-type")

    def json(self) -> object:
        return json.loads(self.body)


@dataclass
class Deps:
    """What /var/deps holds, prepared once and reusable by several sessions."""

    path: Path
    lambdaloop_root: Path
    python: str = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def prepare_deps(target: Path, lambdaloop_root: Path = ROOT) -> Deps:
    """Copy lambdaloop (from ``lambdaloop_root``/runtime) and the runtimes' dependencies from
    this interpreter's environment into ``target``, byte-compiled as they will be seen, and
    readable by anyone."""
    target.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(lambdaloop_root / "runtime" / "lambdaloop", target / "lambdaloop", ignore=ignore)
    for name in _DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed for {sys.executable}")
        origin = Path(spec.origin)
        if spec.submodule_search_locations:  # a package: its directory
            shutil.copytree(origin.parent, target / name, ignore=ignore)
        else:
            shutil.copyfile(origin, target / origin.name)
    compileall.compile_dir(str(target), ddir="/var/deps", quiet=1, workers=1)
    _open_up(target)
    return Deps(target, lambdaloop_root)


def _open_up(top: Path) -> None:
    """Directories 0755, files 0644 (0755 if executable): uid 993 reads them."""
    top.chmod(0o755)
    for dirpath, dirnames, filenames in os.walk(top):
        for d in dirnames:
            os.chmod(os.path.join(dirpath, d), 0o755)
        for f in filenames:
            p = os.path.join(dirpath, f)
            os.chmod(p, 0o755 if os.stat(p).st_mode & 0o100 else 0o644)


def rie_binary() -> Path:
    from lambdaloop.rie import ensure_rie

    return ensure_rie()


class LmiRie:
    """One RIE in its LMI engine, running ``handler`` from ``functions`` under ``runtime``.

    ``runtime`` is what follows the interpreter in the bootstrap (``LAMBDALOOP``,
    ``AWSLAMBDARIC``, or any ``-m module``/script args); ``env`` is exported by the bootstrap
    to the runtime only (the RIE sets its own variables on top of its environment, so setting
    them there is the only sure way). Use as a context manager: every process ends on exit.
    """

    def __init__(
        self,
        work: Path,
        handler: str,
        functions: Path,
        runtime: Sequence[str] = LAMBDALOOP,
        concurrency: int = 4,
        env: dict[str, str] | None = None,
        deps: Deps | None = None,
        rie: Path | None = None,
        timeout_s: int = 60,
    ) -> None:
        self.work = work
        self.handler = handler
        self.functions = functions
        self.runtime = tuple(runtime)
        self.concurrency = concurrency
        self.env = dict(env or {})
        self.deps = deps
        self.rie = rie
        self.timeout_s = timeout_s
        self.port = free_port()
        self.api_port = free_port()
        self.log_path = work / "rie.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.known: dict[int, str] = {}  # every runtime PID seen, with its start time
        self.exit_status: int | None = None

    # -- set-up -----------------------------------------------------------------------------

    def _write_task(self) -> Path:
        task = self.work / "task"
        if task.exists():
            shutil.rmtree(task)
        shutil.copytree(self.functions, task, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        assert self.deps is not None
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in self.env.items())
        text = BOOTSTRAP.format(
            exports=exports, python=self.deps.python, runtime=" ".join(shlex.quote(a) for a in self.runtime)
        )
        (task / "bootstrap").write_text(text)
        (task / "bootstrap").chmod(0o755)
        _open_up(task)
        return task

    def __enter__(self) -> LmiRie:
        self.work.mkdir(parents=True, exist_ok=True)
        if self.deps is None:
            self.deps = prepare_deps(self.work / "deps")
        elif self.deps.path != self.work / "deps":
            # The mount script binds WORK/deps: point it at the prepared copy.
            link = self.work / "deps"
            if not link.exists():
                link.symlink_to(self.deps.path, target_is_directory=True)
        self._write_task()
        rie = self.rie or rie_binary()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_LAMBDA", "_X_AMZN", "PYTHON"))}
        env.update(
            {
                "AWS_LAMBDA_MAX_CONCURRENCY": str(self.concurrency),
                "AWS_LAMBDA_FUNCTION_HANDLER": self.handler,
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout_s),
            }
        )
        rie_args = [
            "--log-level", "error",
            "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
            "--runtime-api-address", f"127.0.0.1:{self.api_port}",
        ]  # fmt: skip
        cmd = [
            shutil.which("unshare") or "/usr/bin/unshare", "--mount", "--propagation", "private",
            "/bin/sh", "-c", MOUNT_SCRIPT, "lmi-rie", str(self.work), sys.base_prefix, str(rie), *rie_args,
        ]  # fmt: skip
        self.started_at = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_listening()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_listening(self, timeout: float = 15.0) -> None:
        assert self.process is not None
        wait_process_listening(self.process, self.port, timeout, logs=lambda: self.logs()[-3000:])

    # -- invoking ---------------------------------------------------------------------------

    def invoke(
        self, payload: bytes = b"{}", request_id: str | None = None, patience: float = 30.0, timeout: float = 120.0
    ) -> Invocation:
        """One invoke; a ``400 Runtime.Unavailable`` (no runtime free in ``/next``: the LMI
        engine has no queue) is retried every 5 ms for up to ``patience`` seconds."""
        request_id = request_id or str(uuid.uuid4())
        started = time.monotonic()
        unavailable = 0
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            while True:
                conn.request("POST", INVOKE_PATH, body=payload, headers={"X-Amzn-RequestId": request_id})
                answer = conn.getresponse()
                body = answer.read()
                if answer.status == 400 and b"Runtime.Unavailable" in body and time.monotonic() - started < patience:
                    unavailable += 1
                    time.sleep(0.005)
                    continue
                headers = {k.lower(): v for k, v in answer.getheaders()}
                return Invocation(request_id, answer.status, body, headers, started, time.monotonic(), unavailable)
        finally:
            conn.close()

    def invoke_concurrently(self, payloads: Sequence[bytes], patience: float = 30.0) -> list[Invocation]:
        """One thread per payload, released together; answers in the payloads' order."""
        results: list[Invocation | BaseException | None] = [None] * len(payloads)
        barrier = threading.Barrier(len(payloads))

        def one(i: int) -> None:
            try:
                barrier.wait(10)
                results[i] = self.invoke(payloads[i], patience=patience)
            except BaseException as exc:
                results[i] = exc

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(payloads))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return [r for r in results if isinstance(r, Invocation)]

    # -- observing --------------------------------------------------------------------------

    def runtime_pids(self) -> list[int]:
        """The runtime's processes now (everything below the RIE), remembered for the end."""
        if self.process is None:
            return []
        pids = descendants(self.process.pid)
        for pid in pids:
            st = start_time(pid)
            if st is not None:
                self.known.setdefault(pid, st)
        return pids

    def memory(self) -> dict[str, int]:
        """RSS and PSS summed over every runtime process."""
        return memory_kib(self.runtime_pids())

    def survivors(self) -> list[int]:
        """Runtime PIDs seen during the session that are still alive (the same process)."""
        return [pid for pid, st in self.known.items() if start_time(pid) == st]

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- ending -----------------------------------------------------------------------------

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM to the RIE, as the platform ends an environment; its exit status."""
        assert self.process is not None
        self.runtime_pids()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.exit_status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.exit_status = self.process.wait(timeout=5)
        return self.exit_status

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        with contextlib.suppress(Exception):
            self.terminate(timeout=5.0)
        for pid in self.survivors():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0  # SIGKILL takes effect asynchronously
        while self.survivors() and time.monotonic() < deadline:
            time.sleep(0.01)
