"""Lambda Managed Instances: ``AWS_LAMBDA_MAX_CONCURRENCY=N`` means the platform sends up to
N invocations at once to this execution environment. How they are served depends on the
handler, which only its import tells:

- an ``async def`` handler: at most one process per usable CPU, each serving its share of
  the N slots as tasks on its event loop (``lmi.SlotServer``);
- a sync handler: N worker processes, each serving one invocation at a time, each with its
  own handler import (as awslambdaric 4.2.2 does, and as AWS documents for Python).

So the supervisor first forks one process per usable CPU (at most N), each given its share
of the slots; each imports the handler and reports, through its ready pipe, which kind it
is. If the handler is sync, the supervisor then forks the remaining N minus that many
one-slot workers. Either way every worker imports the handler itself, after the fork.

Where this differs from awslambdaric on purpose: the parent supervises. A worker that dies
after a successful init (a segfault in a C extension, ``os._exit``) is replaced, so capacity
does not shrink silently, and the invocation it was serving gets a ``Runtime.ExitError``
posted by the parent, so no invocation waits for its timeout; a worker whose init fails ends
the whole runtime with its status, since every other worker would fail the same way.
awslambdaric's parent just waits for all workers and then exits 0.
"""

from __future__ import annotations

import contextlib
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, NoReturn

    # serve(handler_name, ready, slots): a runtime that calls ready(mode) once its init
    # succeeded (ASYNC or SYNC) and records the invocations it serves in ``slots``.
    ServeWorker = Callable[[str, Callable[[bytes], object], "list[InFlight]"], NoReturn]

CONCURRENCY_ENV = "AWS_LAMBDA_MAX_CONCURRENCY"
_SLOT = 1024  # bytes of shared memory per slot: the ids of the invocation it is serving
# Concurrency beyond this, per usable CPU, is refused (with a log line): it would mean hundreds
# of processes or thousands of connections per CPU, never what a function needs, and a
# mistyped value must not become a fork bomb. AWS's own default for Python is 16 per vCPU.
MAX_PER_CPU = 64
_SIGNAL_NAMES = {6: "aborted", 9: "killed", 11: "segmentation fault", 15: "terminated"}
LOG_SOCKET_ENV = "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"
ASYNC, SYNC = b"a", b"s"  # what a worker writes to its ready pipe once its init succeeded


def concurrency(environ: Mapping[str, str], cpus: int | None = None) -> int | None:
    """The number of invocations to serve at once, or None for the classic single-invocation
    mode. A value that is not a positive number, or is beyond ``MAX_PER_CPU`` per usable CPU,
    is reported on stderr and bounded."""
    raw = environ.get(CONCURRENCY_ENV)
    if raw is None:
        return None
    try:
        count = int(raw)
    except ValueError:
        sys.stderr.write(f"lambdaloop: {CONCURRENCY_ENV}={raw!r} is not a number; serving one invocation at a time\n")
        return 1
    if count < 1:
        sys.stderr.write(f"lambdaloop: {CONCURRENCY_ENV}={raw!r} is not positive; serving one invocation at a time\n")
        return 1
    limit = MAX_PER_CPU * (cpus or usable_cpus())
    if count > limit:
        sys.stderr.write(
            f"lambdaloop: {CONCURRENCY_ENV}={count} is more than {MAX_PER_CPU} per usable CPU; "
            f"serving {limit} at once\n"
        )
        return limit
    return count


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def shares(count: int, processes: int) -> list[int]:
    """``count`` slots spread over ``processes`` as evenly as possible, larger shares first."""
    base, extra = divmod(count, processes)
    return [base + (1 if index < extra else 0) for index in range(processes)]


def _redirect_output(socket_path: str) -> None:
    """Each worker's stdout and stderr become connections to the platform's log socket."""
    import _socket

    for fd in (1, 2):
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.connect(socket_path)
        os.dup2(sock.fileno(), fd)
        sock.close()


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the supervisor dies, so no worker outlives it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass  # not Linux: the platform ends the whole process group anyway


class InFlight:
    """One worker's slot in memory shared with the supervisor: the request id and invocation
    id of the invocation it is serving, empty between invocations. Written by the worker
    (two memory writes per invocation), read by the supervisor only once the worker is dead."""

    __slots__ = ("memory", "offset")

    def __init__(self, memory: Any, index: int) -> None:
        self.memory = memory
        self.offset = index * _SLOT

    def begin(self, request_id: str, invocation_id: str | None) -> None:
        # Layout: a 2-byte big-endian length (0: no invocation), then "request id\ninvocation id".
        data = f"{request_id}\n{invocation_id or ''}".encode("utf-8", "replace")[: _SLOT - 2]
        start = self.offset + 2
        self.memory[start : start + len(data)] = data
        self.memory[self.offset : start] = len(data).to_bytes(2, "big")

    def end(self) -> None:
        self.memory[self.offset : self.offset + 2] = b"\0\0"

    def read(self) -> tuple[str, str | None] | None:
        length = int.from_bytes(self.memory[self.offset : self.offset + 2], "big")
        if length == 0:
            return None
        start = self.offset + 2
        text = bytes(self.memory[start : start + length]).decode("utf-8", "replace")
        request_id, _, invocation_id = text.partition("\n")
        return request_id, invocation_id or None


def _worker(handler_name: str, ready_fd: int, slots: list[InFlight], serve: ServeWorker) -> NoReturn:
    _die_with_parent()
    socket_path = os.environ.get(LOG_SOCKET_ENV)
    if socket_path:
        _redirect_output(socket_path)
    serve(handler_name, lambda mode: os.write(ready_fd, mode), slots)


def _exit_description(code: int) -> str:
    if code < 0:
        return "signal: " + _SIGNAL_NAMES.get(-code, str(-code))
    return f"exit status {code}"


def _answer_orphan(slot: InFlight, code: int, user_agent: str) -> None:
    """Post Runtime.ExitError for the invocation a dead worker was serving, if any (a second
    post for one already answered is refused by the platform, harmlessly)."""
    ids = slot.read()
    slot.end()
    if ids is None:
        return
    request_id, invocation_id = ids
    from .errors import EXIT_ERROR, ErrorReport, exit_message, make_error_body
    from .protocol import Invocation
    from .runtime_client import RuntimeClient
    from .transport import TransportError

    message = exit_message(_exit_description(code), request_id)
    report = ErrorReport(make_error_body(message, EXIT_ERROR, [], request_id), {})
    invocation = Invocation(request_id, 0, "", None, None, None, None, invocation_id, None, b"")
    client = RuntimeClient(os.environ.get("AWS_LAMBDA_RUNTIME_API", ""), user_agent)
    try:
        answer = client.fail(invocation, report)
        sys.stderr.write(f"lambdaloop: posted {EXIT_ERROR} for {request_id} (HTTP {answer.status})\n")
    except TransportError as exc:
        sys.stderr.write(f"lambdaloop: could not post {EXIT_ERROR} for {request_id}: {exc}\n")
    finally:
        client.reset()


def release_telemetry_fd() -> None:
    """The telemetry fd is the supervisor's to close (awslambdaric's parent consumes and closes
    it too): N workers writing frames into one fd could interleave them. Workers log to their
    stdout, which the platform's log socket collects."""
    fd = os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    if fd is not None and fd.isdigit():
        with contextlib.suppress(OSError):
            os.close(int(fd))


class _Worker:
    """The supervisor's view of one worker process."""

    __slots__ = ("mode", "ready_fd", "slots")

    def __init__(self, ready_fd: int, slots: list[InFlight]) -> None:
        self.ready_fd = ready_fd
        self.slots = slots
        self.mode: bytes | None = None  # ASYNC or SYNC once its init succeeded

    def read_mode(self) -> bytes | None:
        """The ready byte, if the worker wrote it (b"" once the worker is gone without it)."""
        if self.mode is None:
            data = os.read(self.ready_fd, 1)
            self.mode = data if data in (ASYNC, SYNC) else None
            return data
        return self.mode


def _spawn(handler_name: str, slots: list[InFlight], serve: ServeWorker) -> tuple[int, _Worker]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        # A replacement is forked after the supervisor installed its own SIGTERM handler:
        # the worker starts from the default again (its runtime installs its own).
        import _signal

        _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
        os.close(read_fd)
        try:
            _worker(handler_name, write_fd, slots, serve)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            sys.stdout.flush()
            os._exit(code)
        except BaseException:
            import traceback

            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    os.close(write_fd)
    return pid, _Worker(read_fd, slots)


def _first_mode(workers: dict[int, _Worker]) -> bytes | None:
    """Wait until a worker reports its init (ASYNC or SYNC), or every one is gone without."""
    import select

    pending = dict(workers)
    while pending:
        readable, _, _ = select.select([w.ready_fd for w in pending.values()], [], [])
        for pid, worker in list(pending.items()):
            if worker.ready_fd in readable:
                mode = worker.read_mode()
                if mode in (ASYNC, SYNC):
                    return mode
                del pending[pid]  # gone during init: the supervision loop reports it
    return None


def run_workers(
    handler_name: str, count: int, serve: ServeWorker, user_agent: str, preloaded: bool = False
) -> NoReturn:
    """Serve ``count`` invocations at once (see the module notes) and supervise the workers
    until they are all gone. ``preloaded``: this process already imported the handler
    (``LAMBDALOOP_PRELOAD=1``): its objects are frozen out of the garbage collector first, so
    that collections in the workers do not write to (and so copy) the pages they share."""
    release_telemetry_fd()
    import mmap

    # Anonymous and shared (inherited by every fork): a slot per invocation for the first
    # processes, and one more per sync worker forked later.
    memory = mmap.mmap(-1, 2 * count * _SLOT)
    # The platform's SIGTERM reaches the whole process group: each worker runs its shutdown
    # hooks and exits. The supervisor must outlive them (their PDEATHSIG would SIGKILL them
    # mid-hook) and must not replace them. Installed before the first fork: a SIGTERM may
    # come as soon as a worker is ready (each child resets it to the default).
    import _signal

    stopping: list[int] = []
    _signal.signal(_signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    if preloaded:
        import gc

        gc.collect()
        gc.freeze()
    workers: dict[int, _Worker] = {}
    first = 0
    for share in shares(count, min(usable_cpus(), count)):
        pid, worker = _spawn(handler_name, [InFlight(memory, first + i) for i in range(share)], serve)
        workers[pid] = worker
        first += share
    if _first_mode(workers) == SYNC and not stopping:
        # One invocation per process: the rest of the count, each with a slot of its own.
        for index in range(count - len(workers)):
            pid, worker = _spawn(handler_name, [InFlight(memory, count + index)], serve)
            workers[pid] = worker
    while workers:
        pid, status = os.wait()
        gone = workers.pop(pid, None)
        if gone is None:
            continue
        was_ready = gone.read_mode() in (ASYNC, SYNC)
        os.close(gone.ready_fd)
        code = os.waitstatus_to_exitcode(status)
        if stopping:
            continue  # shutting down: however a worker ended, it is not replaced
        if not was_ready:
            # Init failed (the worker posted /init/error): the others would fail alike.
            for other in workers:
                os.kill(other, 9)
            sys.exit(code if code > 0 else 1)
        sys.stderr.write(f"lambdaloop: worker {pid} exited ({code}) after init; starting a replacement\n")
        for slot in gone.slots:
            _answer_orphan(slot, code, user_agent)
        new_pid, replacement = _spawn(handler_name, gone.slots, serve)
        workers[new_pid] = replacement
    sys.exit(0)
