"""SnapStart's snapshot, as the emulator keeps it: the initialized runtime parked in
``GET /restore/next``, and the rendezvous for each restore.

Lambda snapshots the environment while the runtime waits in ``/restore/next`` and answers
that call in every environment it restores. Here the parked runtime *is* the snapshot: each
restore answers its ``/restore/next``. lambdaloop's runtime then forks (``lambdaloop.snapfork``:
it says so on its first call, and names the process it forked on the next), so every restore
starts from the same memory, as on Lambda. A runtime that does not fork (awslambdaric, another
runtime given with ``--bootstrap``) carries on in place: that restore uses the snapshot up and
the next one inits again, which still runs every hook in order but cannot show uniqueness bugs.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile

from lambdaloop.emulator import uniqueness
from lambdaloop.emulator.process import Child


class Snapshot:
    def __init__(self) -> None:
        self.process: Child | None = None  # the parked runtime, once init has succeeded
        self.by_fork = False
        self.forked_pid: int | None = None  # reported for the restore in progress
        self._parked: asyncio.Future[bool] | None = None
        self._probe_dir: str | None = None
        self._fingerprints: list[list[uniqueness.Finding]] = []
        self._warned: set[tuple[str, str]] = set()

    @property
    def parked(self) -> bool:
        """The runtime waits in /restore/next (at the end of init: the snapshot can be taken)."""
        return self._parked is not None and not self._parked.done()

    @property
    def usable(self) -> bool:
        return self.process is not None and self.process.alive and self.parked

    def park(self, by_fork: bool, forked_pid: int | None) -> asyncio.Future[bool]:
        """The runtime called /restore/next. The future says whether to answer 200 (a
        restore) or refuse (the snapshot is being thrown away)."""
        self.by_fork = self.by_fork or by_fork
        if forked_pid is not None:
            self.forked_pid = forked_pid
        self.release(False)
        self._parked = asyncio.get_running_loop().create_future()
        return self._parked

    def restore(self) -> None:
        """Answer the parked /restore/next: one restore starts."""
        self.forked_pid = None
        self.release(True)

    def release(self, go: bool) -> None:
        if self._parked is not None and not self._parked.done():
            self._parked.set_result(go)
        self._parked = None

    def probe_dir(self) -> str:
        """Where restored runtimes leave their fingerprints (lambdaloop.snapcheck)."""
        if self._probe_dir is None:
            self._probe_dir = tempfile.mkdtemp(prefix="lambdaloop-snapstart-")
        return self._probe_dir

    def check(self, pid: int) -> tuple[list[uniqueness.Shared], float]:
        """Add restored process ``pid``'s fingerprint. Returns the state it shares with an
        earlier restore not reported yet, and how long the check took in that process."""
        if self._probe_dir is None:
            return [], 0.0
        left = uniqueness.read_fingerprint(self._probe_dir, pid)
        if left is None:
            return [], 0.0
        fingerprint, check_ms = left
        self._fingerprints.append(fingerprint)
        fresh = []
        for shared in uniqueness.shared_state(self._fingerprints):
            if (shared.kind, shared.where) not in self._warned:
                self._warned.add((shared.kind, shared.where))
                fresh.append(shared)
        return fresh, check_ms

    async def discard(self) -> None:
        """End the snapshot's process (its restores are not its process group: they stay)."""
        self.release(False)
        self.by_fork, self.forked_pid = False, None  # (the next snapshot's runtime says again)
        process, self.process = self.process, None
        if process is not None:
            await process.kill()

    def close(self) -> None:
        if self._probe_dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._probe_dir)
            self._probe_dir = None
