"""The bootstrap loop: init, then ``next → handle → post`` until the platform stops us.

Every path through ``handle`` ends in exactly one post for the invocation: a response or
an error, whatever the handler does (raises, returns something unserializable, calls
sys.exit). The loop reads top to bottom like the protocol; the requests go through a
``RuntimeClient``, user-code concerns live in ``handler``/``context``/``marshal``/``errors``.

This is also the one place, with the entry points (``entry``, the worker supervisor in
``workers``, the SIGTERM handler in ``extensions.shutdown``), that decides whether the
process ends: the client and the helpers (streaming, SnapStart, extensions) report what
happened as values, and ``ExitPolicy`` says what that means in this process.
"""

from __future__ import annotations

import os
import sys
import time

from . import awslambdaric_shim, hooks
from .context import FunctionEnvironment, build_context
from .errors import ErrorReport, FaultError, classify, exit_code_of, exit_report, report_exception, report_fault
from .handler import is_async_handler, is_stream, load_handler
from .logs import (
    LogConfig,
    RequestState,
    Unbuffered,
    create_sink,
    install_when_imported,
    log_runtime_error,
    runtime_log,
)
from .marshal import marshal_result, unmarshal_event
from .protocol import ProtocolError
from .traceenv import TraceEnvironment
from .transport import TransportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, MutableMapping
    from types import ModuleType
    from typing import Any, NoReturn

    from .aio import PersistentLoop
    from .current import ContextRequestState
    from .protocol import Invocation
    from .runtime_client import RuntimeClient
    from .workers import InFlight

UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, in rare "
    "cases, a Lambda runtime update can cause unexpected function behavior. For functions using managed runtimes, "
    "runtime updates can be triggered by a function change, or can be applied automatically. To determine if the "
    "runtime has been updated, check the runtime version in the INIT_START log entry. If this error correlates with a "
    "change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the previous "
    "runtime version. For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


class ExitPolicy:
    """What a failure of the Runtime API means for this process.

    Classic (one invocation at a time, awslambdaric's rules): a post that cannot be made, or a
    ``/next`` that fails, ends the process: nothing is left to answer, and the platform starts a
    new environment. A worker among several (Lambda Managed Instances, as awslambdaric's LMI
    client): ``/next`` is retried with backoff, a lost post is logged and the worker goes on
    (the platform has failed that one invocation), and a 403 on ``/init/error`` means another
    worker already reported the same init failure."""

    __slots__ = ("init_error_conflict_expected", "lost_post_ends_process", "next_retry_delays")

    def __init__(
        self, lost_post_ends_process: bool, next_retry_delays: tuple[float, ...], init_error_conflict_expected: bool
    ) -> None:
        self.lost_post_ends_process = lost_post_ends_process
        self.next_retry_delays = next_retry_delays
        self.init_error_conflict_expected = init_error_conflict_expected


CLASSIC = ExitPolicy(lost_post_ends_process=True, next_retry_delays=(), init_error_conflict_expected=False)
WORKER = ExitPolicy(
    lost_post_ends_process=False, next_retry_delays=(0.1, 0.2, 0.4, 0.8), init_error_conflict_expected=True
)


class Runtime:
    def __init__(
        self,
        handler_name: str,
        client: RuntimeClient,
        environ: MutableMapping[str, str],
        policy: ExitPolicy = CLASSIC,
    ) -> None:
        self.handler_name = handler_name
        self.client = client
        self.policy = policy
        self.function_env = FunctionEnvironment(environ)
        self.log_config = LogConfig(environ)
        self.sink = create_sink(environ, self.log_config.is_json)
        self.unmarshal_event = unmarshal_event
        self.marshal_result = marshal_result
        self.codec = environ.get("LAMBDALOOP_JSON", "")
        self.state: RequestState | ContextRequestState = RequestState()
        self.trace_env = TraceEnvironment()
        self.async_loop: PersistentLoop | None = None
        # A worker's report to its supervisor once init succeeded: ASYNC or SYNC (workers).
        self.on_ready: Callable[[bytes], object] | None = None
        # A worker's shared-memory slots (Lambda Managed Instances): which invocations it is
        # serving, so the supervisor can answer them if this process dies. With an async
        # handler the process serves as many at once as it has slots; otherwise one, in the
        # first slot. Empty outside that mode.
        self.slots: list[InFlight] = []
        self.in_flight: InFlight | None = None

    # -- start-up -------------------------------------------------------------------------

    def start(self, preloaded: Callable[..., Any] | None = None) -> NoReturn:
        """Init (unless ``preloaded``: a handler the worker supervisor imported before forking
        this process), register the internal extensions, SnapStart if asked, then serve."""
        if preloaded is None:
            self.prepare_process()
            handler = self.init()
        else:
            handler = preloaded  # prepared and imported by the supervisor, before the fork
            hooks.run(hooks.AFTER_FORK)
        # Before any /next: registration closes then.
        from .extensions.internal import start_internal_extensions

        start_internal_extensions(self.client.host, quiet_conflicts=self.policy.init_error_conflict_expected)
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
            self.snapshot_and_restore()
        concurrent = bool(self.slots) and is_async_handler(handler)
        if self.on_ready is not None:
            self.on_ready(b"a" if concurrent else b"s")
        if concurrent:
            self.serve_concurrently(handler)
        self.in_flight = self.slots[0] if self.slots else None
        self.serve(handler)

    def prepare_process(self) -> None:
        """Unbuffered output, and the log handler installed the moment ``logging`` is imported."""
        sys.stdout = Unbuffered(sys.stdout)
        sys.stderr = Unbuffered(sys.stderr)
        install_when_imported(self._setup_logging)

    def preload(self) -> Callable[..., Any]:
        """``LAMBDALOOP_PRELOAD=1``: the supervisor's init, before it forks the workers, which
        then share its memory copy-on-write. Threads alive now will not exist in the workers:
        named in a warning, with the hook that runs in each worker."""
        self.prepare_process()
        handler = self.init(create_loop=False)  # an event loop does not survive a fork
        if "threading" in sys.modules:
            import threading

            alive = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
            if alive:
                runtime_log(
                    f"LAMBDALOOP_PRELOAD: threads alive at fork time do not run in the workers: {', '.join(alive)}. "
                    "Start them in a @lambdaloop.hooks.after_fork hook instead."
                )
        return handler

    def _setup_logging(self, logging_module: ModuleType) -> None:
        from .logformat import install

        install(logging_module, self.log_config, self.sink, self.state)

    def init(self, create_loop: bool = True) -> Callable[..., Any]:
        """Load the in-process extensions and the handler, or report why not and exit 1
        (awslambdaric's rule)."""
        try:
            if self.codec == "orjson":
                # An init error when orjson is missing (an extra), like any import the function needs.
                from .fastjson import dumps_result, loads_event

                self.unmarshal_event, self.marshal_result = loads_event, dumps_result
            if os.environ.get("LAMBDALOOP_EXTENSIONS"):
                from .extensions.internal import import_extension_modules

                import_extension_modules()  # before the handler: agents instrument what it imports
            handler = load_handler(self.handler_name)
        except FaultError as fault:
            hooks.run(hooks.ON_INIT_ERROR, fault)
            report = report_fault(fault, "")
        except Exception as exc:
            hooks.run(hooks.ON_INIT_ERROR, exc)
            report = report_exception(exc, "")
        except SystemExit as exc:
            # awslambdaric lets a module-level sys.exit() end the process unreported.
            self.fail_init(exit_report(exc, ""), exit_code_of(exc))
        else:
            if create_loop and is_async_handler(handler):
                self.event_loop()  # create it during init, not on the first invoke
            # The handler as an agent that patches awslambdaric wrapped it (Sentry), if one did.
            return awslambdaric_shim.resolve_handler(handler)
        self.fail_init(report, 1)

    def fail_init(self, report: ErrorReport, status: int) -> NoReturn:
        import logging

        logging.warning(UNHANDLED_INIT_WARNING)
        log_runtime_error(self.sink, report.body)
        awslambdaric_shim.report_init_error(report.body)
        self._post_init_error(report, report.error_type)
        sys.exit(status)

    def snapshot_and_restore(self) -> None:
        """SnapStart: hooks, snapshot, restore. A failure is posted, then ends the process
        with SnapStart's own exit status (64 before the snapshot, 65 after the restore)."""
        from .snapstart import snapshot_and_restore

        failure = snapshot_and_restore(self.client)
        if failure is None:
            return
        log_runtime_error(self.sink, failure.report.body)
        self._post_init_error(failure.report, failure.error_type, restore=failure.after_restore)
        sys.exit(failure.exit_code)

    def _post_init_error(self, report: ErrorReport, error_type: str, restore: bool = False) -> None:
        what = "/restore/error" if restore else "/init/error"
        try:
            if restore:
                outcome = self.client.restore_error(report, error_type)
            else:
                outcome = self.client.init_error(report, error_type)
        except TransportError as exc:
            runtime_log(f"Failed to post {what}: {exc}")
            return
        if outcome.ok or (outcome.status == 403 and self.policy.init_error_conflict_expected):
            return  # (a 403 for a worker: another one has already reported the same failure)
        runtime_log(outcome.message)

    def event_loop(self) -> PersistentLoop:
        if self.async_loop is None:
            from .aio import PersistentLoop

            self.async_loop = PersistentLoop()
        return self.async_loop

    def run_async(self, awaitable: Awaitable[Any]) -> Any:
        return self.event_loop().run(awaitable)

    def serve_concurrently(self, handler: Callable[..., Any]) -> NoReturn:
        """Lambda Managed Instances, async handler: one invocation per slot at once, as tasks
        (``lmi``); the process ends when the slot server says so."""
        from .aio_client import AsyncRuntimeClient
        from .current import ContextRequestState
        from .lmi import SlotServer
        from .runtime_client import RuntimeClient

        self.state = ContextRequestState()
        if "logging" in sys.modules:
            from .logformat import use_state

            use_state(self.state)  # its root handler was installed with the process-wide state
        host, user_agent = self.client.host, self.client.user_agent
        server = SlotServer(
            handler,
            self.slots,
            new_client=lambda: AsyncRuntimeClient(host, user_agent),
            new_stream_client=lambda: RuntimeClient(host, user_agent),
            context_for=lambda invocation: build_context(invocation, self.function_env, self.sink),
            unmarshal=self.unmarshal_event,
            marshal=self.marshal_result,
            log_error=self._log_error,
            retry_delays=self.policy.next_retry_delays,
        )
        sys.exit(server.run(self.event_loop().loop))

    # -- the loop -------------------------------------------------------------------------

    def serve(self, handler: Callable[..., Any]) -> NoReturn:
        while True:
            self.handle(handler, self.next_invocation())

    def next_invocation(self) -> Invocation:
        delays = self.policy.next_retry_delays
        for attempt in range(len(delays) + 1):
            try:
                invocation = self.client.next()
                break
            except (TransportError, ProtocolError) as exc:
                runtime_log(f"Failed to get next invocation: {exc}")
                if attempt == len(delays):
                    # Nothing can be answered: exit and let the platform restart the environment.
                    sys.exit(1)
                time.sleep(delays[attempt])
        for warning in invocation.warnings:
            runtime_log(f"RequestId: {invocation.request_id} {warning}")
        return invocation

    def handle(self, handler: Callable[..., Any], invocation: Invocation) -> None:
        request_id = invocation.request_id
        self.state.request_id = request_id
        self.state.tenant_id = invocation.tenant_id
        self.trace_env.set(invocation.trace_id)
        if self.in_flight is not None:
            self.in_flight.begin(request_id, invocation.invocation_id)
        event: Any = None
        context: Any = None
        stream: Any = None
        report: ErrorReport | None = None
        try:
            context = build_context(invocation, self.function_env, self.sink)
            event = self.unmarshal_event(invocation.body, invocation.content_type)
            if hooks.BEFORE_INVOKE:
                hooks.run(hooks.BEFORE_INVOKE, event, context)
            result = handler(event, context)
            if hasattr(result, "__await__"):
                result = self.run_async(result)
            if is_stream(result):
                stream = result
            else:
                body, content_type = self.marshal_result(result)
        except BaseException as exc:
            report, exiting = classify(exc, request_id)
            if exiting:
                self.post_error(invocation, report)
                self._end_in_flight()
                raise
            hooks.notify_error(exc, event, context)
        # Posting stays outside the try: a failed post must never be reported as the
        # handler's error (that would be a second outcome for one invocation).
        if report is not None:
            self.post_error(invocation, report)
            outcome = hooks.Outcome(False, error=report.body)
        elif stream is not None:
            outcome = self.post_stream(invocation, stream, event, context)
        else:
            self.respond(invocation, body, content_type)
            outcome = None
        self._end_in_flight()
        if hooks.AFTER_INVOKE:
            hooks.run(hooks.AFTER_INVOKE, event, context, outcome or hooks.Outcome(True, result))

    def _end_in_flight(self) -> None:
        if self.in_flight is not None:
            self.in_flight.end()

    # -- posting, and what a failed post means ---------------------------------------------

    def respond(self, invocation: Invocation, body: bytes, content_type: str) -> None:
        try:
            outcome = self.client.respond(invocation, body, content_type)
        except TransportError as exc:
            self._lost(f"Failed to post /response for {invocation.request_id}: {exc}")
            return
        if not outcome.ok:
            runtime_log(outcome.message)

    def post_error(self, invocation: Invocation, report: ErrorReport) -> None:
        log_runtime_error(self.sink, report.body)
        try:
            outcome = self.client.fail(invocation, report)
        except TransportError as exc:
            self._lost(f"Failed to post /error for {invocation.request_id}: {exc}")
            return
        if not outcome.ok:
            runtime_log(outcome.message)

    def post_stream(self, invocation: Invocation, stream: object, event: Any, context: Any) -> hooks.Outcome:
        from .stream_post import post_stream

        result = post_stream(
            self.client, invocation, stream, self.run_async, self.post_error, self._log_error, event, context
        )
        for message in result.messages:
            runtime_log(message)
        if result.lost:
            self._lost(None)
        if result.exiting is not None:
            self._end_in_flight()
            raise result.exiting
        return result.outcome

    def _log_error(self, report: ErrorReport) -> None:
        log_runtime_error(self.sink, report.body)

    def _lost(self, message: str | None) -> None:
        """A post could not be made: the invocation's answer is lost with the connection."""
        if message is not None:
            runtime_log(message)
        if self.policy.lost_post_ends_process:
            sys.exit(1)
