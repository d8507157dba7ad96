"""Processes for the tests and the benchmarks: ports, waiting for a server, /proc, Lambda's unzip.

One copy of what the harnesses (tests/lmi/rie_lmi.py, tests/packaging/lambda_sandbox.py,
tests/integration/rieharness.py, tests/extensions/rie_driver.py, bench/_proc.py, ...) each used
to carry, so a fix (a zombie counted as alive, a mode lost in an unzip) lands everywhere at once.

Importable as ``procs``: pytest puts tests/ on ``sys.path`` (``pythonpath`` in pyproject.toml),
bench/_proc.py and bench/lmi.py append it, and tests/extensions/rie_driver.py inserts it.

``free_port`` and ``wait_listening`` are the product's own (``lambdaloop.emulator.rie_backend``,
which ``lambdaloop invoke --rie`` uses), re-exported rather than copied: they are generic, already
imported by tests/emulator, and the package is installed wherever the tests and benchmarks run.
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from lambdaloop.emulator.rie_backend import free_port, wait_listening

__all__ = [
    "descendants",
    "free_port",
    "memory_kib",
    "start_time",
    "stat_fields",
    "unzip",
    "wait_listening",
    "wait_process_listening",
]


def wait_process_listening(
    process: subprocess.Popen[bytes],
    port: int,
    timeout: float,
    logs: Callable[[], str] = lambda: "",
    what: str = "the RIE",
) -> None:
    """Until ``process`` accepts connections on 127.0.0.1:``port``; a RuntimeError with its
    ``logs()`` if it exits first or does not listen within ``timeout`` seconds.

    Polls the exit status too, so a server that dies at start fails at once with why (its log)
    rather than after the whole timeout with a bare "not listening"."""
    try:
        wait_listening("127.0.0.1", port, timeout, alive=lambda: process.poll() is None)
    except RuntimeError:
        raise RuntimeError(f"{what} exited with {process.returncode} before listening:\n{logs()}") from None
    except TimeoutError:
        raise RuntimeError(f"{what} did not listen on {port} within {timeout} s:\n{logs()}") from None


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None for a PID that is gone:
    state is [0], ppid [1], pgrp [2], utime [11], stime [12], starttime [19].

    Split after the last ``)``: the command name may itself hold spaces and parentheses."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    """The kernel's start time of a live PID (field 22 of /proc/PID/stat), or None for a PID
    that is gone or a zombie (dead, only waiting to be reaped).

    Remembered with each PID we may signal later: a PID whose start time changed was reused by
    the kernel for someone else's process, which must never be signalled. A zombie counts as
    gone, so a wait for "no survivor" ends when the process dies, not when its parent reaps it."""
    fields = stat_fields(pid)
    if fields is None or len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, parents first, from each thread's ``children`` list in /proc.

    From /proc, not from a process group: the RIE starts each runtime in a group of its own, so
    killing ours would miss it. Every thread's list is read, as a child belongs to the thread
    that forked it. Zombies are included: pair with ``start_time`` to see which are alive."""
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


def memory_kib(pids: Sequence[int]) -> dict[str, int]:
    """VmRSS and Pss summed over the processes, KiB, and how many were read.

    Pss as well as RSS: forked workers share their parent's pages copy-on-write, and RSS counts
    those once per process, Pss shares them out fairly. ``processes`` counts only those still
    there to be read."""
    rss = pss = count = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                rss += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            with open(f"/proc/{pid}/smaps_rollup") as f:
                pss += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            count += 1
        except (OSError, StopIteration):
            continue
    return {"rss_kib": rss, "pss_kib": pss, "processes": count}


def unzip(zip_path: Path, dest: Path) -> Path:
    """Unzip as Lambda does a function or a layer: each file gets the Unix mode stored in the
    zip's external attributes. ``ZipFile.extractall`` drops them, and then a ``bootstrap``, a
    wrapper script or an extension is no longer executable. Returns ``dest``."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod((info.external_attr >> 16) & 0o777)
    return dest
