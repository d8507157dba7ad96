"""Child processes of the execution environment: the runtime and external extensions.

Each child runs in its own session (so a timeout kills the runtime's whole process group,
threads and grandchildren included, as the RIE does), with stdout and stderr piped back
line by line to a sink: the emulator prints them and turns them into telemetry records.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable

LineSink = Callable[[str, str], None]  # (source name, line without newline)

# Go's os/exec wording for signals, which the RIE puts in "Runtime exited with error: ...".
_SIGNAL_WORDS = {
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGINT: "interrupt",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGPIPE: "broken pipe",
}


def exit_reason(returncode: int) -> str:
    """The RIE's description of how a process ended: ``exit status 7``, ``signal: killed``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        sig = signal.Signals(-returncode)
    except ValueError:
        return f"signal: {-returncode}"
    return f"signal: {_SIGNAL_WORDS.get(sig, sig.name.lower())}"


class _SessionLeader:
    """A process that leads its own session: signals go to its whole group (its pgid is its
    pid), so a timeout also ends its threads' and children's work, as the RIE does."""

    pid: int
    exited: asyncio.Future[int]

    @property
    def alive(self) -> bool:
        return not self.exited.done()

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    async def kill(self) -> int:
        """SIGKILL the whole group and wait for the exit."""
        self.signal_group(signal.SIGKILL)
        return await self.exited

    async def terminate(self, grace: float) -> int:
        """SIGTERM the group, then SIGKILL after ``grace`` seconds."""
        if self.alive:
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), grace)
        return await self.kill()


class Child(_SessionLeader):
    """One started process with its log pumps."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, sink: LineSink) -> None:
        self.name = name
        self.process = process
        self.pid = process.pid
        streams = (process.stdout, process.stderr)
        self._pumps = [asyncio.ensure_future(pump_lines(stream, name, sink)) for stream in streams if stream]
        self.exited: asyncio.Task[int] = asyncio.ensure_future(self._wait())

    async def _wait(self) -> int:
        code = await self.process.wait()
        # The pipes may still hold the last lines; let them drain, but a grandchild holding
        # the pipe open must not keep the exit from being seen.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._pumps), 1.0)
        return code

    @property
    def alive(self) -> bool:
        # Reaped, not merely exited: ``exited`` also waits for the pipes to drain.
        return self.process.returncode is None

    async def kill(self) -> int:
        """SIGKILL the whole group and wait for the exit to be reaped."""
        code = await super().kill()
        for pump in self._pumps:
            pump.cancel()
        return code


async def spawn(name: str, argv: list[str], env: dict[str, str], cwd: str | None, sink: LineSink) -> Child:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        # Log lines of any length: the default 64 KiB limit would break a big print.
        limit=1 << 24,
    )
    return Child(name, process, sink)


async def pump_lines(stream: asyncio.StreamReader, name: str, sink: LineSink) -> None:
    """Each line of ``stream`` to ``sink`` as ``name``'s output, until it ends."""
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # a line over the limit: hand over what is buffered
            line = await stream.read(1 << 24)
        if not line:
            return
        sink(name, line.decode("utf-8", "replace").rstrip("\r\n"))


def stat_exit_status(stat_text: str) -> int | None:
    """The exit status in /proc/PID/stat (field 52, as waitpid reports it, readable while the
    process is a zombie), as asyncio's returncode: the exit code, or -N for signal N."""
    fields = stat_text[stat_text.rfind(")") + 2 :].split()
    if len(fields) < 50 or not fields[49].isdigit():
        return None
    status = int(fields[49])
    if status & 0x7F:
        return -(status & 0x7F)
    return (status >> 8) & 0xFF


def parent_pid(pid: int) -> int | None:
    """The parent of process ``pid`` (field 4 of /proc/PID/stat); None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


class RestoredChild(_SessionLeader):
    """A SnapStart restore: a process the snapshot forked, not the emulator, so it is watched
    through a pidfd (Linux 5.3+) rather than waited for. Its exit status is read from /proc
    while it is a zombie: the snapshot reaps it only when asked for the next restore.

    It leads its own session, and it writes to the snapshot's pipes, whose pumps show its output."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[int] = loop.create_future()
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:  # gone already: a zombie still has a pidfd, so it was reaped
            self._pidfd = -1
            self.exited.set_result(-signal.SIGKILL)
            return
        loop.add_reader(self._pidfd, self._on_exit)

    def _on_exit(self) -> None:
        asyncio.get_running_loop().remove_reader(self._pidfd)
        code = None
        with contextlib.suppress(OSError), open(f"/proc/{self.pid}/stat") as f:
            code = stat_exit_status(f.read())
        os.close(self._pidfd)
        self._pidfd = -1
        if not self.exited.done():
            self.exited.set_result(-signal.SIGKILL if code is None else code)
