"""Processes for the benchmarks: spawning, /proc readings, and ending what we started by PID.

Every PID is remembered with its kernel start time (field 22 of /proc/PID/stat), so a PID the
kernel reused for someone else's process after ours exited is never signalled. Nothing is
ever ended by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Variables that would make runs differ from a normal start (no bytecode cache, unbuffered
# stdio, a foreign sys.path) or put the RIE into its managed-instances engine.
_DROP_ENV = (
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONPROFILEIMPORTTIME",
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "AWS_LAMBDA_RUNTIME_API",
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bind to 0, read it back, release it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env.update(extra)
    return env


def start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (all threads' children), parents first."""
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop(0)
        try:
            tids = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    kids = [int(c) for c in f.read().split()]
            except OSError:
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU time of these processes (all threads), seconds.

    From /proc/PID/task/TID/schedstat (run time in ns) where the kernel has it: utime+stime in
    /proc/PID/stat counts 10 ms ticks, too coarse for a few-second window of 25 µs invokes.
    """
    total = 0.0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
            ns = 0
            for tid in tids:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    ns += int(f.read().split()[0])
            total += ns / 1e9
        except (OSError, ValueError, IndexError):
            total += _stat_cpu_seconds(pid)
    return total


def _stat_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_kib(pids: Sequence[int]) -> dict[str, int]:
    """VmRSS and Pss summed over the processes, KiB."""
    rss = pss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                rss += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            with open(f"/proc/{pid}/smaps_rollup") as f:
                pss += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
    return {"rss_kib": rss, "pss_kib": pss}


class Child:
    """A process we started, plus every descendant we have seen; ends them all by PID."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: str, log_path: str) -> None:
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        # Own session: a signal aimed at our group never reaches it, and its children are
        # found through /proc, not through a process group.
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.known: dict[int, str] = {}
        self.remember()

    def remember(self) -> list[int]:
        """Record the process tree now; returns its PIDs (the child first)."""
        pids = [self.pid, *descendants(self.pid)]
        for pid in pids:
            st = start_time(pid)
            if st is not None:
                self.known.setdefault(pid, st)
        return pids

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM, up to ``grace`` s to exit, then SIGKILL to the child and every descendant seen."""
        self.remember()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10.0)  # SIGKILL cannot be ignored: bounded in practice
        for pid, st in self.known.items():
            if start_time(pid) == st:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.log.close()


def run_blocking(argv: Sequence[str], env: dict[str, str], cwd: str, limit: float = 60.0) -> tuple[int, float, str]:
    """Run to completion; returns (exit status, wall ms from spawn to reaped, stderr).

    No ``timeout=``: ``Popen.wait(timeout)`` polls with doubling sleeps, which turns a 9 ms
    ``python -c pass`` into ~16 ms (measured on this 2-vCPU VM). A blocking wait returns at exit;
    a watchdog timer keeps it bounded. stderr goes to a pipe read after exit... which could
    block a child writing more than a pipe buffer, so it goes to a temporary file instead.
    """
    import tempfile

    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        watchdog = threading.Timer(limit, proc.kill)
        watchdog.start()
        status = proc.wait()
        elapsed = (time.perf_counter() - t0) * 1e3
        watchdog.cancel()
        err.seek(0)
        return status, elapsed, err.read().decode(errors="replace")


class Pinned:
    """Pin this process (and so every child it spawns meanwhile, which inherits the mask) to one
    CPU. On this 2-vCPU VM a wake-up across CPUs costs tens of µs charged to both sides, and
    unpinned client/server rounds came out bimodal about 2x apart."""

    def __init__(self, cpu: int | None) -> None:
        self.cpu = cpu
        self.saved = os.sched_getaffinity(0)

    def __enter__(self) -> Pinned:
        if self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})
        return self

    def __exit__(self, *exc: object) -> None:
        os.sched_setaffinity(0, self.saved)


def default_cpu() -> int:
    """The last CPU we may run on: CPU 0 takes most interrupts on small VMs."""
    return max(os.sched_getaffinity(0))
