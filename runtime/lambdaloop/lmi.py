"""Lambda Managed Instances with an ``async def`` handler: invocations as tasks.

One process serves as many invocations at once as it has slots, on the runtime's persistent
event loop (uvloop when installed). Each slot is a task with its own keep-alive connection
(``AsyncRuntimeClient``): it waits in ``/next``, runs that invocation, posts its outcome, and
waits again. The guarantees of classic mode hold per invocation: exactly one post (the
``errors.classify`` funnel), the hooks, a context object of its own that never changes under
it. What belongs to one invocation lives in context variables (``current``): its request id
and tenant id on every log record it makes (after an ``await``, in a task it creates, in
``asyncio.to_thread``), its trace id from ``lambdaloop.trace_id()`` rather than the
process-wide ``_X_AMZN_TRACE_ID``.

What ends a slot or the process:

- an invocation past its deadline (plus ``DEADLINE_GRACE_S``) is cancelled, so a hung task
  never holds its slot for ever (the platform has already failed it and frees the slot only
  when the runtime polls ``/next`` again);
- ``sys.exit()`` in an invocation posts that invocation's ``Runtime.ExitError``; the process
  then stops taking work, lets the invocations in flight finish (each bounded by its
  deadline) and exits with that status, and the supervisor starts a replacement;
- ``/next`` failing after the worker retries does the same with status 1.

A handler that blocks the event loop (``time.sleep`` in ``async def``) holds up every other
invocation of the process: a watchdog thread logs a warning naming the invocation and the
line it is stuck on once the loop has not turned for ``LAG_WARNING_S``.

A streamed response is posted from a worker thread on a blocking connection of its own
(``stream_post``, as in classic mode), so it never holds up the other slots.
"""

from __future__ import annotations

import asyncio
import sys
import time

from . import current, hooks
from .errors import ErrorReport, FaultError, classify, exit_code_of
from .handler import is_stream
from .logs import runtime_log
from .protocol import ProtocolError
from .transport import TransportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine
    from typing import Any

    from .aio_client import AsyncRuntimeClient
    from .context import LambdaContext
    from .protocol import Invocation, PostOutcome
    from .runtime_client import RuntimeClient
    from .workers import InFlight

# The platform fails an invocation at its deadline; a task still running this long after it
# is cancelled, to free its slot.
DEADLINE_GRACE_S = 1.0
# An event loop that has not turned for this long is reported (the watchdog's threshold).
LAG_WARNING_S = 1.0
TIMEOUT_ERROR = "Sandbox.Timedout"


class _Exited(Exception):
    """A SystemExit or KeyboardInterrupt raised in an invocation's coroutine, carried out of its
    task as an ordinary exception: asyncio re-raises those two out of the event loop itself,
    which would end the process with every other invocation in flight."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(repr(exc))
        self.exc = exc


async def _contained(awaitable: Awaitable[Any]) -> Any:
    try:
        return await awaitable
    except (SystemExit, KeyboardInterrupt) as exc:
        raise _Exited(exc) from None


class SlotServer:
    """One process's slots. What it needs from the runtime comes as callables: a new client per
    slot, the two steps that turn an invocation into the handler's arguments (the context, then
    the event), the result's marshalling, the error log, and the worker's ``/next`` retries."""

    def __init__(
        self,
        handler: Callable[..., Any],
        slots: list[InFlight],
        *,
        new_client: Callable[[], AsyncRuntimeClient],
        new_stream_client: Callable[[], RuntimeClient],
        context_for: Callable[[Invocation], LambdaContext],
        unmarshal: Callable[[bytes, str | None], Any],
        marshal: Callable[[Any], tuple[bytes, str]],
        log_error: Callable[[ErrorReport], None],
        retry_delays: tuple[float, ...],
    ) -> None:
        self.handler = handler
        self.slots = slots
        self.new_client = new_client
        self.new_stream_client = new_stream_client
        self.context_for = context_for
        self.unmarshal = unmarshal
        self.marshal = marshal
        self.log_error = log_error
        self.retry_delays = retry_delays
        self.exit_code = 0
        self._stopping: asyncio.Event | None = None
        self._idle: set[asyncio.Task[None]] = set()  # slot tasks waiting in /next
        self._heartbeat = time.monotonic()

    def run(self, loop: asyncio.AbstractEventLoop) -> int:
        """Serve until the process must stop; the exit status it should end with."""
        current.serve_concurrently()
        loop.run_until_complete(self._main())
        return self.exit_code

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._start_watchdog(loop)
        tasks = [loop.create_task(self._slot(slot)) for slot in self.slots]
        await self._stopping.wait()
        # Stop taking work: the slots waiting in /next are cancelled (they hold nothing);
        # the busy ones finish their invocation, each bounded by its deadline.
        for task in list(self._idle):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _stop(self, code: int) -> None:
        if self._stopping is not None and not self._stopping.is_set():
            self.exit_code = code
            self._stopping.set()

    async def _slot(self, slot: InFlight) -> None:
        client = self.new_client()
        task = asyncio.current_task()
        assert task is not None and self._stopping is not None
        try:
            while not self._stopping.is_set():
                self._idle.add(task)
                try:
                    invocation = await self._next(client)
                finally:
                    self._idle.discard(task)
                if invocation is None:
                    return
                task.set_name(invocation.request_id)  # what the watchdog names
                slot.begin(invocation.request_id, invocation.invocation_id)
                try:
                    await self._handle(client, invocation)
                finally:
                    slot.end()
        finally:
            client.reset()

    async def _next(self, client: AsyncRuntimeClient) -> Invocation | None:
        delays = self.retry_delays
        for attempt in range(len(delays) + 1):
            try:
                invocation = await client.next()
                break
            except (TransportError, ProtocolError) as exc:
                runtime_log(f"Failed to get next invocation: {exc}")
                if attempt == len(delays):
                    self._stop(1)
                    return None
                await asyncio.sleep(delays[attempt])
        for warning in invocation.warnings:
            runtime_log(f"RequestId: {invocation.request_id} {warning}")
        return invocation

    async def _handle(self, client: AsyncRuntimeClient, invocation: Invocation) -> None:
        request_id = invocation.request_id
        # This task's own context: every record it logs, every task it starts, carries these.
        current.REQUEST_ID.set(request_id)
        current.TENANT_ID.set(invocation.tenant_id)
        current.TRACE_ID.set(invocation.trace_id)
        event: Any = None
        context: Any = None
        report: ErrorReport | None = None
        exiting: SystemExit | None = None
        result: Any = None
        stream: Any = None
        try:
            context = self.context_for(invocation)
            event = self.unmarshal(invocation.body, invocation.content_type)
            if hooks.BEFORE_INVOKE:
                hooks.run(hooks.BEFORE_INVOKE, event, context)
            result = self.handler(event, context)
            if hasattr(result, "__await__"):
                result = await self._within_deadline(_contained(result), invocation)
            if is_stream(result):
                stream = result
            else:
                body, content_type = self.marshal(result)
        except BaseException as raised:
            exc = raised.exc if isinstance(raised, _Exited) else raised
            report, must_exit = classify(exc, request_id)
            if must_exit and isinstance(exc, SystemExit):
                exiting = exc
            else:
                hooks.notify_error(exc, event, context)
        if report is not None:
            self.log_error(report)
            await self._post(client.fail(invocation, report), f"/error for {request_id}")
            outcome = hooks.Outcome(False, error=report.body)
        elif stream is not None:
            outcome, exiting = await self._stream(invocation, stream, event, context)
        else:
            await self._post(client.respond(invocation, body, content_type), f"/response for {request_id}")
            outcome = hooks.Outcome(True, result)
        if exiting is not None:
            self._stop(exit_code_of(exiting))
            return
        if hooks.AFTER_INVOKE:
            hooks.run(hooks.AFTER_INVOKE, event, context, outcome)

    async def _stream(
        self, invocation: Invocation, stream: object, event: Any, context: Any
    ) -> tuple[hooks.Outcome, SystemExit | None]:
        """A streamed response: posted by ``stream_post`` on a blocking connection of its own,
        in a worker thread (a sync producer runs there; an async one runs on this loop, in this
        invocation's context), so the other invocations go on meanwhile."""
        from .stream_post import post_stream

        loop = asyncio.get_running_loop()
        client = self.new_stream_client()
        ids = (invocation.request_id, invocation.tenant_id, invocation.trace_id)

        async def produce(awaitable: Awaitable[Any]) -> Any:
            current.REQUEST_ID.set(ids[0])
            current.TENANT_ID.set(ids[1])
            current.TRACE_ID.set(ids[2])
            return await _contained(awaitable)

        def run_async(awaitable: Awaitable[Any]) -> Any:
            try:
                return asyncio.run_coroutine_threadsafe(produce(awaitable), loop).result()
            except _Exited as exited:
                raise exited.exc from None

        def post_error(target: Invocation, report: ErrorReport) -> None:
            self.log_error(report)
            try:
                judged = client.fail(target, report)
            except TransportError as exc:
                runtime_log(f"Failed to post /error for {target.request_id}: {exc}")
                return
            if not judged.ok:
                runtime_log(judged.message)

        try:
            result = await asyncio.to_thread(
                post_stream, client, invocation, stream, run_async, post_error, self.log_error, event, context
            )
        finally:
            client.reset()
        for message in result.messages:
            runtime_log(message)
        return result.outcome, result.exiting

    async def _within_deadline(self, awaitable: Awaitable[Any], invocation: Invocation) -> Any:
        if not invocation.deadline_ms:
            return await awaitable  # no deadline was given: nothing to hold it to
        timeout = invocation.deadline_ms / 1000 - time.time() + DEADLINE_GRACE_S
        task = asyncio.ensure_future(awaitable)  # in this task's context: the same invocation
        task.set_name(invocation.request_id)  # what the watchdog names
        try:
            return await asyncio.wait_for(task, max(timeout, 0.0))
        except asyncio.TimeoutError:
            raise FaultError(
                TIMEOUT_ERROR,
                f"RequestId: {invocation.request_id} Error: the invocation passed its deadline; "
                "its task was cancelled to free its slot",
            ) from None

    async def _post(self, call: Coroutine[Any, Any, PostOutcome], what: str) -> None:
        try:
            outcome = await call
        except TransportError as exc:
            # One of several slots and processes: the platform has failed that invocation,
            # the others go on (the worker exit policy).
            runtime_log(f"Failed to post {what}: {exc}")
            return
        if not outcome.ok:
            runtime_log(outcome.message)

    # -- the watchdog --------------------------------------------------------------------

    def _start_watchdog(self, loop: asyncio.AbstractEventLoop) -> None:
        import threading

        def beat() -> None:
            self._heartbeat = time.monotonic()
            loop.call_later(0.1, beat)

        beat()
        loop_thread = threading.get_ident()
        threading.Thread(target=self._watch, args=(loop, loop_thread), name="lambdaloop-watchdog", daemon=True).start()

    def _watch(self, loop: asyncio.AbstractEventLoop, loop_thread: int) -> None:
        reported = 0.0
        while not loop.is_closed():
            time.sleep(0.25)
            lag = time.monotonic() - self._heartbeat
            if lag < LAG_WARNING_S:
                reported = 0.0
                continue
            if reported:
                continue  # once per stall
            reported = lag
            runtime_log(self._stall_message(loop, loop_thread, lag))

    def _stall_message(self, loop: asyncio.AbstractEventLoop, loop_thread: int, lag: float) -> str:
        culprit = ""
        try:
            # Read from another thread: a plain lookup on 3.10-3.13; where a Python keeps the
            # current task per thread, this finds none and the line names no invocation.
            task = asyncio.current_task(loop)
            culprit = task.get_name() if task is not None else ""
        except Exception:
            pass
        where = ""
        frame = sys._current_frames().get(loop_thread)
        if frame is not None:
            where = f" (at {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name})"
        who = f"RequestId: {culprit} " if culprit else ""
        return (
            f"{who}the event loop has not turned for {lag:.1f} s{where}: every other invocation of this "
            "process waits. In an async handler, await blocking work (asyncio.to_thread, async clients)."
        )
