"""Processes for the benchmarks: spawning, /proc readings, and ending what we started by PID.

Every PID is remembered with its kernel start time (field 22 of /proc/PID/stat), so a PID the
kernel reused for someone else's process after ours exited is never signalled. Nothing is
ever ended by name. What the tests' harnesses need too (free ports, /proc readings, Lambda's
unzip) is in tests/procs.py, re-exported here for the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

# Appended, not inserted: bench's own modules (streaming.py, package.py) must win over tests/'s
# packages of the same names.
sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))

from procs import descendants, free_port, memory_kib, start_time, stat_fields, unzip, wait_process_listening

__all__ = [
    "Child",
    "Pinned",
    "clean_env",
    "cpu_seconds",
    "default_cpu",
    "descendants",
    "free_port",
    "memory_kib",
    "run_blocking",
    "start_time",
    "unzip",
    "wait_process_listening",
]

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


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    env.update(extra)
    return env


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
    fields = stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


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
