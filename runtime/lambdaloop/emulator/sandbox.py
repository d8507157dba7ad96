"""The execution environment's lifecycle: init, one invoke at a time, reset, shutdown.

This is the part of the emulator that plays RAPID. It owns the processes (runtime and
external extensions), the queue of invokes, and the rendezvous between an invoke and the
runtime's ``/next``. The HTTP handlers (``runtime_api``, ``invoke_api``) only translate
requests into calls on it.

Life of an invoke: wait in the queue; if no healthy environment, init one (extensions
first, then the runtime, done when the runtime and every registered extension wait for an
event); deliver to ``/next`` and send INVOKE to extensions; wait for the first of: the
runtime's answer, its exit, the deadline. A crash or timeout resets the environment (every
process ended), and the next invoke starts a fresh one, as the RIE does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from lambdaloop import protocol
from lambdaloop.emulator import extensions as ext
from lambdaloop.emulator import outcome as oc
from lambdaloop.emulator import records, report
from lambdaloop.emulator.config import EmulatorConfig
from lambdaloop.emulator.invocation import Invocation
from lambdaloop.emulator.process import Child, RestoredChild, exit_reason, parent_pid, pump_lines, spawn
from lambdaloop.emulator.snapshot import Snapshot
from lambdaloop.emulator.telemetry import Hub

# (source, line): source is "platform", "runtime" or an extension's name.
LogSink = Callable[[str, str], None]
LOG_SOCKET_ENV = "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET"
# (Restore Duration, Billed Restore Duration) of a SnapStart restore, for REPORT.
RestoreFigures = tuple[float, int]


class Signal:
    """Wakes every waiter when the environment's state changed (a /next arrived, an
    extension came back to /event/next, a post landed)."""

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    def notify(self) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_result(None)
        self._future = None

    def wait(self) -> asyncio.Future[None]:
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        return self._future


def find_extensions(directory: str | None) -> list[str]:
    """Executable files in the extensions directory, in name order (Lambda's order)."""
    if not directory or not os.path.isdir(directory):
        return []
    found = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            found.append(path)
    return found


class Sandbox:
    def __init__(self, config: EmulatorConfig, sink: LogSink) -> None:
        if config.snapstart and config.concurrency:
            raise ValueError("SnapStart and Lambda Managed Instances do not go together (Lambda does not offer both)")
        self.config = config
        self.sink = sink
        self.runtime_api = ""  # host:port, known once the server listens
        self.hub = Hub()
        self.registry = ext.Registry()
        self.runtime: Child | RestoredChild | None = None
        self.extension_children: list[Child] = []
        self.current: Invocation | None = None
        self.changed = Signal()
        self.init_error: tuple[bytes, str | None] | None = None
        # SnapStart (config.snapstart): the snapshot, what a restore posted to /restore/error,
        # and the uniqueness warnings given so far.
        self.snapshot = Snapshot()
        self.restore_error: tuple[bytes, str | None] | None = None
        self.restoring = False
        self.uniqueness_warnings: list[str] = []
        self.initialized = False
        self.invokes = 0
        self._next_waiter: asyncio.Future[Invocation | None] | None = None
        # Lambda Managed Instances (config.concurrency): every /next waits in line, and every
        # invocation delivered is in flight until it ends, by request id.
        self.concurrent = config.concurrency > 0
        self._waiters: collections.deque[asyncio.Future[Invocation | None]] = collections.deque()
        self.in_flight: dict[str, Invocation] = {}
        self._invoking: set[asyncio.Future[None]] = set()
        self._log_server: asyncio.AbstractServer | None = None
        self._log_path = ""
        self._init_duration_ms: float | None = None
        self._peak_mb = 0
        self._queue: asyncio.Queue[Invocation] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        self._busy = False
        # Every child ever started and not yet reaped (teardown and close end them all).
        self._spawned: set[Child] = set()

    # ---- the outside world's view -------------------------------------------------------

    def start(self) -> None:
        self._worker = asyncio.ensure_future(self._dispatch() if self.concurrent else self._work())

    def submit(self, invocation: Invocation) -> None:
        """Queue an invoke; overlapping invokes wait their turn (the RIE crashes instead)."""
        self._queue.put_nowait(invocation)

    async def close(self) -> None:
        """Shut the environment down the way Lambda does and stop the worker.

        The worker is not cancelled in the middle of its work (that could drop a process
        half-way through a teardown): closing makes its waits end, it finishes the invoke in
        hand, and only then, idle on its queue, is it cancelled."""
        self._closing = True
        shutdown = oc.platform_error("Sandbox.Shutdown", "The emulator is shutting down")
        while not self._queue.empty():
            self._queue.get_nowait().finish(shutdown)
        if self.current is not None:
            self.current.finish(shutdown)
        for invocation in list(self.in_flight.values()):
            invocation.finish(shutdown)
        self.changed.notify()
        if self._worker is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._worker_idle(), self.config.shutdown_budget_s + 10)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self._teardown("SPINDOWN")
        await self.snapshot.discard()
        self.snapshot.close()
        await self._close_log_socket()
        # Anything a cancelled step left behind still gets reaped.
        await asyncio.gather(*(child.kill() for child in list(self._spawned)))
        await self.hub.close()

    async def _worker_idle(self) -> None:
        while self._busy:
            await self.changed.wait()

    async def wait_idle(self) -> None:
        """Until no invoke is queued or running (its REPORT line is out)."""
        while self.current is not None or self.in_flight or not self._queue.empty():
            await self.changed.wait()

    # ---- used by the Runtime API handlers -----------------------------------------------

    def wait_next(self) -> asyncio.Future[Invocation | None]:
        """The runtime called /next. A newer /next replaces an older one (a runtime that lost
        its connection and retried); the older waiter gets None and is answered 403."""
        self.registry.closed = True
        if self.concurrent:
            waiter: asyncio.Future[Invocation | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            self.changed.notify()
            return waiter
        if self._next_waiter is not None and not self._next_waiter.done():
            self._next_waiter.set_result(None)
        self._next_waiter = asyncio.get_running_loop().create_future()
        self.changed.notify()
        return self._next_waiter

    def log(self, line: str) -> None:
        self.sink("platform", line)

    # ---- the worker ---------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            invocation = await self._queue.get()
            self._busy = True
            try:
                await self._run(invocation)
            except Exception as exc:  # never leave an invoker without an answer
                invocation.finish(oc.platform_error("Emulator.Error", f"{type(exc).__name__}: {exc}"))
                self.log(f"lambdaloop emulator: internal error: {exc!r}")
                await self._teardown("FAILURE")
            finally:
                self.current = None
                self._busy = False
                self.changed.notify()

    async def _run(self, invocation: Invocation, fresh_start: bool = False) -> None:
        if self.runtime is not None and not self.runtime.alive:
            # Crashed between invokes: Lambda (and the RIE) start a new environment.
            await self._teardown("FAILURE")
        init_ms: float | None = None
        restore: RestoreFigures | None = None
        if self.runtime is None and self.config.snapstart:
            failure, restore = await self._restored_environment()
            if failure is not None:
                invocation.finish(failure)
                self._report(invocation, failure, 0.0, None, restore)
                return
        elif self.runtime is None:
            failure = await self._init()
            if failure is not None:
                invocation.finish(failure)
                self._report(invocation, failure, 0.0, self._init_duration_ms)
                return
            init_ms = self._init_duration_ms
        wait = await self._wait_until(self._ready, time.monotonic() + self.config.timeout_s)
        if wait == "exit":
            assert self.runtime is not None
            reason = exit_reason(self.runtime.exited.result())
            await self._teardown("FAILURE")
            if not fresh_start:
                # The idle runtime died since the last invoke: start over once, as the RIE does.
                return await self._run(invocation, fresh_start=True)
            failure = oc.exit_error(invocation.request_id, reason)
            invocation.finish(failure)
            self._report(invocation, failure, 0.0, init_ms)
            return
        if wait == "closing":
            invocation.finish(oc.platform_error("Sandbox.Shutdown", "The emulator is shutting down"))
            return
        if wait == "timeout":
            # An extension never came back to /event/next after the previous invoke.
            outcome = oc.timeout(self.config.timeout_s)
            invocation.finish(outcome)
            self._report(invocation, outcome, self.config.timeout_s * 1000, init_ms)
            await self._teardown("TIMEOUT")
            return
        await self._invoke(invocation, init_ms, restore)

    def _ready(self) -> bool:
        return self._runtime_parked() and self.registry.all_waiting()

    async def _invoke(
        self, invocation: Invocation, init_ms: float | None, restore: RestoreFigures | None = None
    ) -> None:
        config = self.config
        request = invocation.request
        invocation.deadline_ms = int(time.time() * 1000 + config.timeout_s * 1000)
        invocation.started = time.monotonic()
        self.current = invocation
        self.invokes += 1
        self._peak_mb = self._memory_mb()
        self.log(report.start_line(request.request_id, config.function_version))
        self.hub.emit("platform.start", records.start(request.request_id, config.function_version, request.trace_id))
        waiter, self._next_waiter = self._next_waiter, None
        assert waiter is not None
        waiter.set_result(invocation)
        event = ext.invoke_event(invocation.deadline_ms, request.request_id, config.function_arn, request.trace_id)
        for extension in self.registry.broadcast("INVOKE", event):
            extension.waiting = False
        deadline = invocation.started + config.timeout_s
        wait = await self._wait_until(lambda: invocation.finished, deadline)
        duration_ms = (time.monotonic() - invocation.started) * 1000
        if wait == "exit":
            assert self.runtime is not None
            code = await self.runtime.exited
            pending = invocation.pending
            if pending is not None:
                invocation.finish(
                    oc.response_too_large(runtime_alive=False)
                    if pending.kind == "platform" and pending.error_type == "Function.ResponseSizeTooLarge"
                    else pending
                )
            else:
                invocation.finish(oc.exit_error(request.request_id, exit_reason(code)))
        elif wait == "timeout":
            invocation.finish(oc.timeout(config.timeout_s))
        outcome = invocation.outcome
        assert outcome is not None
        self._report(invocation, outcome, duration_ms, init_ms, restore)
        if wait == "exit":
            await self._teardown("FAILURE")
        elif wait == "timeout":
            await self._teardown("TIMEOUT")

    def _report(
        self,
        invocation: Invocation,
        outcome: oc.Outcome,
        duration_ms: float,
        init_ms: float | None,
        restore: RestoreFigures | None = None,
    ) -> None:
        config = self.config
        request_id = invocation.request_id
        # Sampled at delivery too: a runtime that died has no /proc entry left to read.
        max_mb = max(self._peak_mb, self._memory_mb())
        status = outcome.telemetry_status
        error_type = outcome.error_type if outcome.failed else None
        trace_id = invocation.request.trace_id
        self.hub.emit(
            "platform.runtimeDone",
            records.runtime_done(request_id, status, duration_ms, invocation.produced_bytes, error_type, trace_id),
        )
        self.log(report.end_line(request_id))
        shown_status = None if status == "success" else status
        self.log(report.report_line(request_id, duration_ms, config.memory_mb, max_mb, init_ms, shown_status, restore))
        self.hub.emit(
            "platform.report",
            records.report(
                request_id, status, duration_ms, config.memory_mb, max_mb, init_ms, error_type, trace_id, restore
            ),
        )

    def _memory_mb(self) -> int:
        children = [self.runtime, *self.extension_children]
        return report.peak_memory_mb(c.pid for c in children if c is not None and c.alive)

    async def _wait_until(
        self,
        predicate: Callable[[], bool],
        deadline: float,
        watched: Callable[[], Sequence[Child | RestoredChild]] | None = None,
    ) -> str:
        """'ok' once predicate() holds, 'exit' if a watched child dies first (by default the
        runtime), 'closing' when the emulator shuts down, 'timeout' at the deadline."""
        watched = watched or self._runtime_only
        while True:
            if predicate():
                return "ok"
            children = watched()  # asked again each time: the runtime may be replaced meanwhile
            if any(child.exited.done() for child in children):
                return "exit"
            if self._closing:
                return "closing"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            waiters: list[asyncio.Future[object]] = [self.changed.wait()]  # type: ignore[list-item]
            waiters.extend(child.exited for child in children)  # type: ignore[misc]
            await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)

    def _runtime_parked(self) -> bool:
        if self.concurrent:
            return any(not waiter.done() for waiter in self._waiters)
        return self._next_waiter is not None and not self._next_waiter.done()

    def _runtime_only(self) -> list[Child | RestoredChild]:
        return [self.runtime] if self.runtime is not None else []

    # ---- many at once (Lambda Managed Instances) -----------------------------------------

    async def _dispatch(self) -> None:
        """The LMI engine's way: the environment starts at once; each invoke goes to a runtime
        waiting in /next, or is refused at once with Runtime.Unavailable (there is no queue)."""
        failure = await self._init()
        while True:
            invocation = await self._queue.get()
            if self.runtime is None or not self.runtime.alive:
                await self._teardown("FAILURE")
                failure = await self._init()
            if failure is not None:
                invocation.finish(failure)
                self._report(invocation, failure, 0.0, self._init_duration_ms)
                continue
            waiter = self._take_waiter()
            if waiter is None:
                invocation.finish(oc.unavailable())
                continue
            task = asyncio.ensure_future(self._invoke_concurrently(invocation, waiter))
            self._invoking.add(task)
            task.add_done_callback(self._invoking.discard)

    @property
    def runtimes_waiting(self) -> int:
        """How many runtime /next calls are waiting for an invoke (Lambda Managed Instances)."""
        if self.concurrent:
            return sum(not waiter.done() for waiter in self._waiters)
        return int(self._runtime_parked())

    def _take_waiter(self) -> asyncio.Future[Invocation | None] | None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                return waiter
        return None

    async def _invoke_concurrently(self, invocation: Invocation, waiter: asyncio.Future[Invocation | None]) -> None:
        config = self.config
        request = invocation.request
        invocation.deadline_ms = int(time.time() * 1000 + config.timeout_s * 1000)
        invocation.started = time.monotonic()
        self.in_flight[invocation.request_id] = invocation
        self.invokes += 1
        self.log(report.start_line(request.request_id, config.function_version))
        self.hub.emit("platform.start", records.start(request.request_id, config.function_version, request.trace_id))
        waiter.set_result(invocation)
        try:
            wait = await self._wait_until(lambda: invocation.finished, invocation.started + config.timeout_s)
            if wait == "exit":
                assert self.runtime is not None
                invocation.finish(oc.exit_error(request.request_id, exit_reason(await self.runtime.exited)))
            elif wait in ("timeout", "closing"):
                # The LMI engine fails the invocation and leaves the runtime running: its slot
                # is free again once it polls /next.
                invocation.finish(oc.timeout(config.timeout_s))
            outcome = invocation.outcome
            assert outcome is not None
            self._report(invocation, outcome, (time.monotonic() - invocation.started) * 1000, None)
        finally:
            self.in_flight.pop(invocation.request_id, None)
            self.changed.notify()

    # ---- init ---------------------------------------------------------------------------

    async def _init(self) -> oc.Outcome | None:
        """Start a fresh environment. None on success, else the outcome for the invoker."""
        config = self.config
        started = time.monotonic()
        deadline = started + config.init_limit_s
        paths = find_extensions(config.extensions_dir)
        self.registry = ext.Registry(os.path.basename(p) for p in paths)
        self.init_error = None
        self.initialized = False
        snap_start = config.snapstart
        self.hub.emit(
            "platform.initStart", records.init_start(config.function_name, config.function_version, snap_start)
        )
        ext_env = config.extension_environment(self.runtime_api)
        for path in paths:
            name = os.path.basename(path)
            try:
                child = await self._spawn(name, [path], ext_env, os.path.dirname(path))
            except OSError as exc:
                return await self._init_failed(
                    started, oc.error_json("Extension.LaunchError", str(exc)), "Extension.LaunchError"
                )
            self.extension_children.append(child)
        # External extensions register before the runtime starts (Lambda's "Extension init").
        names = {os.path.basename(p) for p in paths}
        ext_wait = await self._wait_until(
            lambda: names <= self.registry.registered_external(), deadline, lambda: self.extension_children
        )
        if ext_wait != "ok":
            return await self._init_failed(
                started, b"", "Extension.Crash" if ext_wait == "exit" else "Sandbox.Timedout"
            )
        log_stream = datetime.now(timezone.utc).strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        runtime_env = config.runtime_environment(self.runtime_api, log_stream)
        if self.concurrent:
            runtime_env[LOG_SOCKET_ENV] = await self._log_socket()
        if snap_start and config.uniqueness_check:
            runtime_env[protocol.SNAPSTART_PROBE_ENV] = self.snapshot.probe_dir()
        try:
            self.runtime = await self._spawn("runtime", config.resolved_command(), runtime_env, config.task_root)
        except OSError as exc:
            message = f"Couldn't find valid bootstrap(s): {exc}"
            return await self._init_failed(
                started, oc.error_json("Runtime.InvalidEntrypoint", message), "Runtime.InvalidEntrypoint"
            )
        wait = await self._wait_until(self._init_settled, deadline)
        if wait == "ok" and self.init_error is None and not self._extension_failed():
            self.initialized = True
            self._init_duration_ms = (time.monotonic() - started) * 1000
            self.hub.emit("platform.initRuntimeDone", records.init_runtime_done("success", None, snap_start))
            self.hub.emit(
                "platform.initReport", records.init_report("success", self._init_duration_ms, None, snap_start)
            )
            if snap_start:
                # Lambda shows a SnapStart function's init here, not in its invokes' REPORT.
                self.log(report.init_report_line(self._init_duration_ms, "success"))
            return None
        if wait == "timeout":
            return await self._init_failed(started, b"", "Sandbox.Timedout", oc.timeout(config.init_limit_s))
        failed = self._extension_failed()
        if failed is not None:
            return await self._init_failed(started, oc.error_json(failed, "An extension failed to initialize"), failed)
        if self.init_error is not None:
            # The runtime said why; give it a moment to exit on its own (awslambdaric does),
            # then it is killed either way: no hanging in 403s like the RIE.
            assert self.runtime is not None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.runtime.exited), 1.0)
            body, error_type = self.init_error
            return await self._init_failed(started, body, error_type)
        return await self._init_failed(started, b"", "Runtime.ExitError")

    # ---- SnapStart ----------------------------------------------------------------------

    async def _restored_environment(self) -> tuple[oc.Outcome | None, RestoreFigures | None]:
        """A new environment restored from the snapshot, taken first if there is none (init
        and the before-snapshot hooks run once per snapshot, not per environment)."""
        snapshot = self.snapshot
        if not snapshot.usable:
            await snapshot.discard()
            failure = await self._init()
            if failure is not None:
                return failure, None
            if not snapshot.parked:
                # Straight to /next: on Lambda the snapshot is then taken there (a container
                # image labelled com.amazonaws.lambda.feature.snapstart=Allow); here this
                # process serves as it is, and the next environment inits again.
                self.log("lambdaloop: the runtime did not call /restore/next: no snapshot, no restore hooks")
                return None, None
            parked = self.runtime
            assert isinstance(parked, Child)  # (the process init just started)
            snapshot.process, self.runtime = parked, None
            # Which snapshot this is, said once per snapshot (there is no CRIU here: the emulator README).
            how = "each restore forks it" if snapshot.by_fork else "it restores in place, once (it does not fork)"
            self.log(f"lambdaloop: snapshot: the initialized runtime parked in /restore/next; {how}")
        return await self._restore()

    async def _restore(self) -> tuple[oc.Outcome | None, RestoreFigures]:
        """Answer the snapshot's /restore/next and wait for the restored runtime's first /next
        (after its after-restore hooks), its /restore/error, its exit or the restore limit."""
        config = self.config
        snapshot = self.snapshot
        process = snapshot.process
        started = time.monotonic()
        deadline = started + config.restore_timeout_s
        forked_ms = 0.0
        self.restore_error = None
        self.restoring = True
        self.hub.emit("platform.restoreStart", records.restore_start(config.function_name, config.function_version))
        snapshot.restore()
        try:
            if snapshot.by_fork:
                wait = await self._wait_until(
                    lambda: snapshot.forked_pid is not None, deadline, lambda: [process] if process else []
                )
                forked = snapshot.forked_pid
                if wait == "ok" and forked is not None and process is not None and parent_pid(forked) == process.pid:
                    self.runtime = RestoredChild(forked)
                    forked_ms = (time.monotonic() - started) * 1000
                else:
                    if wait == "ok":
                        # Not this machine's process (a runtime in a container reports the pid it
                        # sees): never signal a pid the emulator cannot vouch for.
                        wait = "foreign"
                    elif wait == "exit":
                        self.runtime = process  # (for its exit status in the answer)
                    await snapshot.discard()  # the snapshot is unusable: init again next time
            else:
                # Restored in place: this process is the environment, and the snapshot is used up.
                self.runtime, snapshot.process = process, None
                wait = "ok"
            if wait == "ok":
                wait = await self._wait_until(lambda: self.restore_error is not None or self._ready(), deadline)
        finally:
            self.restoring = False
        duration_ms = (time.monotonic() - started) * 1000
        succeeded = wait == "ok" and self.restore_error is None
        if succeeded:
            duration_ms -= self._check_uniqueness()  # the emulator's check is not the function's time
        # Lambda does not bill the part outside the microVM (loading the snapshot): here, the fork.
        figures = (duration_ms, report.billed_ms(duration_ms - forked_ms))
        if succeeded:
            self.log(report.restore_report_line(duration_ms))
            self.hub.emit("platform.restoreRuntimeDone", records.restore_runtime_done("success"))
            self.hub.emit("platform.restoreReport", records.restore_report("success", duration_ms))
            return None, figures
        outcome = await self._restore_outcome(wait)
        status = "timeout" if wait == "timeout" else "error"
        self.log(report.restore_report_line(duration_ms, status, outcome.error_type))
        self.hub.emit("platform.restoreRuntimeDone", records.restore_runtime_done(status, outcome.error_type))
        self.hub.emit("platform.restoreReport", records.restore_report(status, duration_ms, outcome.error_type))
        await self._teardown("FAILURE")  # this environment only: the snapshot stays for the next
        return outcome, figures

    async def _restore_outcome(self, wait: str) -> oc.Outcome:
        if self.restore_error is not None:
            # The runtime said why (after-restore hooks); it exits on its own (65), or is killed.
            if self.runtime is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self.runtime.exited), 1.0)
            body, error_type = self.restore_error
            return oc.init_error(body, error_type)
        if wait == "timeout":
            return oc.snapstart_timeout()
        if wait == "closing":
            return oc.platform_error("Sandbox.Shutdown", "The emulator is shutting down")
        if wait == "foreign":
            message = (
                "the runtime reported a restored process that is not its child on this machine "
                "(a runtime in a container?): --snapstart needs the runtime to run here"
            )
            return oc.platform_error("Emulator.SnapStartUnsupported", message)
        code = await self.runtime.exited if self.runtime is not None else -9
        message = f"Runtime exited with error: {exit_reason(code)}"
        return oc.init_error(oc.error_json("Runtime.ExitError", message), None)

    def _check_uniqueness(self) -> float:
        """Compare this restore's state with the earlier ones' (lambdaloop.snapcheck); the
        milliseconds the check took in the restored process."""
        if not isinstance(self.runtime, RestoredChild):
            return 0.0
        found, check_ms = self.snapshot.check(self.runtime.pid)
        for shared in found:
            self.uniqueness_warnings.append(shared.message)
            self.log(f"lambdaloop SnapStart uniqueness: {shared.message}")
        return check_ms

    async def retire(self) -> None:
        """End the current environment as Lambda does an idle one, so the next invoke gets a
        new one (with SnapStart: a new restore of the same snapshot)."""
        await self.wait_idle()
        await self._teardown("SPINDOWN")

    async def _log_socket(self) -> str:
        """Lambda Managed Instances: the socket each worker process connects its stdout and
        stderr to (the platform's log collection there); what arrives is the runtime's output."""
        if self._log_server is None:
            import tempfile

            folder = tempfile.mkdtemp(prefix="lambdaloop-logs-")
            self._log_path = os.path.join(folder, "logs.sock")

            async def collect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                try:
                    await pump_lines(reader, "runtime", self.sink)
                finally:
                    writer.close()

            self._log_server = await asyncio.start_unix_server(collect, path=self._log_path, limit=1 << 24)
        return self._log_path

    async def _close_log_socket(self) -> None:
        if self._log_server is not None:
            self._log_server.close()
            self._log_server = None
            with contextlib.suppress(OSError):
                os.unlink(self._log_path)
                os.rmdir(os.path.dirname(self._log_path))

    async def _spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: str | None) -> Child:
        child = await spawn(name, argv, env, cwd, self.sink)
        self._spawned.add(child)
        child.exited.add_done_callback(lambda _: self._spawned.discard(child))
        return child

    def _init_settled(self) -> bool:
        if self.config.snapstart and self.snapshot.parked:
            return True  # the runtime waits for the snapshot
        return self.init_error is not None or self._extension_failed() is not None or self._ready()

    def _extension_failed(self) -> str | None:
        for extension in self.registry.by_id.values():
            if extension.error_type:
                return extension.error_type
        return None

    async def _init_failed(
        self, started: float, body: bytes, error_type: str | None, outcome: oc.Outcome | None = None
    ) -> oc.Outcome:
        self._init_duration_ms = (time.monotonic() - started) * 1000
        status = "timeout" if error_type == "Sandbox.Timedout" else "error"
        snap_start = self.config.snapstart
        self.hub.emit("platform.initRuntimeDone", records.init_runtime_done(status, error_type, snap_start))
        self.hub.emit(
            "platform.initReport", records.init_report(status, self._init_duration_ms, error_type, snap_start)
        )
        self.log(report.init_report_line(self._init_duration_ms, status, error_type))
        await self._teardown("FAILURE")
        return outcome or oc.init_error(body, error_type)

    # ---- reset and shutdown -------------------------------------------------------------

    async def _teardown(self, reason: str) -> None:
        """End every process of the environment. At a graceful shutdown (SPINDOWN) with a
        registered extension the runtime gets SIGTERM and a short grace first (Lambda only
        sends SIGTERM then); after a timeout or a failure it is killed at once. Extensions
        registered for SHUTDOWN get the event and the rest of the budget."""
        runtime, self.runtime = self.runtime, None
        registry = self.registry
        budget_end = time.monotonic() + self.config.shutdown_budget_s
        if runtime is not None:
            if runtime.alive and registry.any_registered and reason == "SPINDOWN":
                # Lambda spins an environment down when it is idle, the runtime back in /next.
                # A runtime still reading the answer to its last post (a streamed response
                # ends at the client first) gets a moment to get there, so SIGTERM does not
                # land in the middle of that post.
                settle_end = time.monotonic() + 1.0
                while runtime.alive and not self._runtime_parked() and time.monotonic() < settle_end:
                    await asyncio.wait(
                        [self.changed.wait(), runtime.exited],  # type: ignore[type-var]
                        timeout=settle_end - time.monotonic(),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                await runtime.terminate(self.config.runtime_shutdown_s)
            else:
                await runtime.kill()
        if self._next_waiter is not None and not self._next_waiter.done():
            self._next_waiter.set_result(None)
        self._next_waiter = None
        children, self.extension_children = self.extension_children, []
        live = [c for c in children if c.alive]
        if live:
            await self.hub.flush(min(1.0, self.config.shutdown_budget_s / 2))
            deadline_ms = int(time.time() * 1000 + max(0.0, budget_end - time.monotonic()) * 1000)
            targets = registry.broadcast("SHUTDOWN", ext.shutdown_event(reason, deadline_ms))
            for extension in targets:
                extension.waiting = False
            by_name = {c.name: c for c in live}

            def settled() -> bool:
                # Done once each target is back in /event/next or has exited.
                return all(e.waiting or not _alive(by_name.get(e.name)) for e in targets)

            while not settled() and time.monotonic() < budget_end and any(c.alive for c in live):
                await asyncio.wait(
                    [self.changed.wait(), *(c.exited for c in live)],  # type: ignore[type-var]
                    timeout=budget_end - time.monotonic(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            await asyncio.gather(*(c.kill() for c in children))
        else:
            await asyncio.gather(*(c.kill() for c in children))
        # Release /event/next calls still parked on the old registry.
        for extension in registry.by_id.values():
            extension.queue.put_nowait({})
        self.registry = ext.Registry()
        self.initialized = False
        self.init_error = None


def _alive(child: Child | None) -> bool:
    return child is not None and child.alive
