"""Lambda Managed Instances: ``AWS_LAMBDA_MAX_CONCURRENCY`` set means the platform accepts
that many invocations at once, so the runtime forks that many workers, each with its own
loop, connection and handler import (as awslambdaric 4.2.2 does, and as the AWS docs on the
Python LMI runtime describe).

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

    ServeWorker = Callable[[str, Callable[[], object], "InFlight"], NoReturn]

CONCURRENCY_ENV = "AWS_LAMBDA_MAX_CONCURRENCY"
_SLOT = 1024  # bytes of shared memory per worker: the ids of the invocation it is serving
_SIGNAL_NAMES = {6: "aborted", 9: "killed", 11: "segmentation fault", 15: "terminated"}
LOG_SOCKET_ENV = "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"
_READY = b"r"


def concurrency(environ: Mapping[str, str]) -> int | None:
    """The worker count, or None for the classic single-invocation mode."""
    raw = environ.get(CONCURRENCY_ENV)
    if raw is None:
        return None
    try:
        return max(0, int(raw))
    except ValueError:
        sys.stderr.write(f"lambdaloop: {CONCURRENCY_ENV}={raw!r} is not a number; running one worker\n")
        return 1


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


def _worker(handler_name: str, ready_fd: int, slot: InFlight, serve: ServeWorker) -> NoReturn:
    _die_with_parent()
    socket_path = os.environ.get(LOG_SOCKET_ENV)
    if socket_path:
        _redirect_output(socket_path)
    serve(handler_name, lambda: os.write(ready_fd, _READY), slot)


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


def _spawn(handler_name: str, slot: InFlight, serve: ServeWorker) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        # A replacement is forked after the supervisor installed its own SIGTERM handler:
        # the worker starts from the default again (its runtime installs its own).
        import _signal

        _signal.signal(_signal.SIGTERM, _signal.SIG_DFL)
        os.close(read_fd)
        try:
            _worker(handler_name, write_fd, slot, serve)
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
    return pid, read_fd


def run_workers(handler_name: str, count: int, serve: ServeWorker, user_agent: str) -> NoReturn:
    """Fork ``count`` workers, each running ``serve(handler_name, ready, slot)`` (a runtime
    that calls ``ready()`` once its init succeeded and records its invocation in ``slot``),
    and supervise them until they are all gone."""
    if count == 0:
        sys.exit(0)  # awslambdaric: zero workers, nothing to do
    # The telemetry fd is the parent's (awslambdaric's parent consumes and closes it too):
    # N workers writing frames into one fd could interleave them. Workers log to their
    # stdout, which the platform's log socket collects.
    fd = os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    if fd is not None and fd.isdigit():
        with contextlib.suppress(OSError):
            os.close(int(fd))
    import mmap

    memory = mmap.mmap(-1, count * _SLOT)  # anonymous and shared: inherited by every fork
    workers: dict[int, tuple[int, InFlight]] = {}  # pid -> (read end of its ready pipe, its slot)
    for index in range(count):
        slot = InFlight(memory, index)
        pid, read_fd = _spawn(handler_name, slot, serve)
        workers[pid] = (read_fd, slot)
    # The platform's SIGTERM reaches the whole process group: each worker runs its shutdown
    # hooks and exits. The supervisor must outlive them (their PDEATHSIG would SIGKILL them
    # mid-hook) and must not replace them.
    import _signal

    stopping: list[int] = []
    _signal.signal(_signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    while workers:
        pid, status = os.wait()
        entry = workers.pop(pid, None)
        if entry is None:
            continue
        read_fd, slot = entry
        was_ready = os.read(read_fd, 1) == _READY
        os.close(read_fd)
        code = os.waitstatus_to_exitcode(status)
        if stopping:
            continue  # shutting down: however a worker ended, it is not replaced
        if not was_ready:
            # Init failed (the worker posted /init/error): the others would fail alike.
            for other in workers:
                os.kill(other, 9)
            sys.exit(code if code > 0 else 1)
        sys.stderr.write(f"lambdaloop: worker {pid} exited ({code}) after init; starting a replacement\n")
        _answer_orphan(slot, code, user_agent)
        new_pid, new_fd = _spawn(handler_name, slot, serve)
        workers[new_pid] = (new_fd, slot)
    sys.exit(0)
