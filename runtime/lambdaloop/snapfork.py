"""Restores by fork, for lambdaloop's built-in emulator (``lambdaloop invoke --snapstart``).

Lambda restores every SnapStart environment from one memory snapshot of the initialized
one. Locally, a process checkpoint (CRIU) would need root and cannot take a process that
holds a TCP connection, so the emulator asks for this instead (``_LAMBDALOOP_SNAPSHOT=fork``
in the runtime's environment): the initialized runtime stays parked in ``/restore/next`` as
the snapshot, and each answer there forks one restored process, in a session of its own,
that carries on from the same memory exactly as a restored environment does. What a fork
cannot copy: threads started at init (only the forking one survives; a snapshot keeps them
all) and the process id (a restored environment keeps it).

The exchange with the emulator rides on ``/restore/next`` itself: the first call says the
runtime restores by fork, and each later one reports the pid of the process just forked, so
the emulator can watch it. Not part of Lambda's API; only used when the emulator asks.
"""

from __future__ import annotations

import os
import sys

from .protocol import H_RESTORE_BY_FORK, H_RESTORED_PID

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .runtime_client import RuntimeClient


def restore_by_fork(client: RuntimeClient) -> None:
    """Park in ``/restore/next`` as the snapshot; return in each restored process. The
    snapshot itself never returns: the emulator ends it when the environment goes away."""
    forked: list[int] = []
    headers = [(H_RESTORE_BY_FORK, "1")]
    while True:
        # A restored process that has ended stays a zombie until here: the emulator reads its
        # exit status from /proc before it asks for the next restore.
        forked = [pid for pid in forked if not _reaped(pid)]
        client.restore_next(headers)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # or buffered output would be written by both processes
        pid = os.fork()
        if pid == 0:
            os.setsid()  # its own process group: the emulator kills a restore, not the snapshot
            return
        forked.append(pid)
        headers = [(H_RESTORE_BY_FORK, "1"), (H_RESTORED_PID, str(pid))]


def _reaped(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid
