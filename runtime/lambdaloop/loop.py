"""The bootstrap loop: init, then ``next → handle → post`` until the platform stops us.

Every path through ``handle`` ends in exactly one post for the invocation: a response or
an error, whatever the handler does (raises, returns something unserializable, calls
sys.exit). The loop reads top to bottom like the protocol; the protocol's bytes live in
``protocol``, the socket in ``transport``, user-code concerns in ``handler``/``context``/
``marshal``/``errors``.
"""

from __future__ import annotations

import os
import sys
import time

from . import __version__, awslambdaric_shim, hooks, protocol
from .context import FunctionEnvironment, build_context
from .errors import (
    EXIT_ERROR,
    ErrorReport,
    FaultError,
    classify,
    exit_code_of,
    make_error_body,
    report_exception,
    report_fault,
)
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
from .marshal import marshal_result, to_json, unmarshal_event
from .traceenv import TraceEnvironment
from .transport import Connection, TransportError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

    from .aio import PersistentLoop

_COALESCE_LIMIT = 64 * 1024
UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. However, in rare "
    "cases, a Lambda runtime update can cause unexpected function behavior. For functions using managed runtimes, "
    "runtime updates can be triggered by a function change, or can be applied automatically. To determine if the "
    "runtime has been updated, check the runtime version in the INIT_START log entry. If this error correlates with a "
    "change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the previous "
    "runtime version. For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


def user_agent() -> str:
    v = sys.version_info
    return f"lambdaloop/{__version__} (python/{v.major}.{v.minor}.{v.micro})"


class Runtime:
    def __init__(self, handler_name: str, environ: os._Environ[str] | None = None, concurrent: bool = False) -> None:
        environ = os.environ if environ is None else environ
        address = environ.get("AWS_LAMBDA_RUNTIME_API")
        if not address:
            raise SystemExit(
                "lambdaloop: AWS_LAMBDA_RUNTIME_API is not set; run under Lambda, the RIE or `lambdaloop invoke`"
            )
        self.handler_name = handler_name
        self.connection = Connection(address)
        self.host = address
        self.user_agent = user_agent()
        self.next_request_bytes = protocol.next_request(self.host, self.user_agent)  # the same every time
        self.function_env = FunctionEnvironment(environ)
        self.log_config = LogConfig(environ)
        self.sink = create_sink(environ, self.log_config.is_json)
        self.unmarshal_event = unmarshal_event
        self.marshal_result = marshal_result
        if environ.get("LAMBDALOOP_JSON") == "orjson":
            from .fastjson import dumps_result, loads_event

            self.unmarshal_event, self.marshal_result = loads_event, dumps_result
        self.state = RequestState()
        self.trace_env = TraceEnvironment()
        self.async_loop: PersistentLoop | None = None
        # One of several workers (Lambda Managed Instances): a failed post or /next is
        # retried or logged instead of ending the process, as awslambdaric's LMI client does.
        self.concurrent = concurrent
        self.on_ready: Callable[[], object] | None = None
        # A worker's shared-memory slot (workers.InFlight): which invocation it is serving, so
        # the supervisor can answer it if this process dies. None outside that mode.
        self.in_flight: Any = None

    # -- start-up -------------------------------------------------------------------------

    def start(self) -> NoReturn:
        sys.stdout = Unbuffered(sys.stdout)  # type: ignore[assignment]
        sys.stderr = Unbuffered(sys.stderr)  # type: ignore[assignment]
        install_when_imported(self._setup_logging)
        if os.environ.get("LAMBDALOOP_EXTENSIONS"):
            from .extensions.internal import import_extension_modules

            import_extension_modules(self)  # before the handler: agents instrument what it imports
        handler = self.init()
        from .extensions.internal import start_internal_extensions  # before any /next: registration closes then

        start_internal_extensions(self)
        if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
            from .snapstart import run_snapstart_hooks

            run_snapstart_hooks(self)
        if self.on_ready is not None:
            self.on_ready()
        self.serve(handler)

    def _setup_logging(self, logging_module: Any) -> None:
        from .logs import setup_logging

        setup_logging(logging_module, self.log_config, self.sink, self.state)

    def init(self) -> Callable[..., Any]:
        """Load the handler, or report why not and exit 1 (awslambdaric's rule)."""
        try:
            handler = load_handler(self.handler_name)
        except FaultError as fault:
            hooks.run(hooks.ON_INIT_ERROR, fault)
            report = report_fault(fault, "")
        except Exception as exc:
            hooks.run(hooks.ON_INIT_ERROR, exc)
            report = report_exception(exc, "")
        except SystemExit as exc:
            # awslambdaric lets a module-level sys.exit() end the process unreported.
            status = exit_code_of(exc)
            message = f"Runtime exited with error: exit status {status}"
            body = make_error_body(message, EXIT_ERROR, report_exception(exc, "").body["stackTrace"], "")
            self.fail_init(ErrorReport(body, {}), status)
        else:
            if is_async_handler(handler):
                self.event_loop()  # create it during init, not on the first invoke
            # The handler as an agent that patches awslambdaric wrapped it (Sentry), if one did.
            return awslambdaric_shim.resolve_handler(handler)
        self.fail_init(report, 1)

    def fail_init(self, report: ErrorReport, status: int) -> NoReturn:
        import logging

        logging.warning(UNHANDLED_INIT_WARNING)
        log_runtime_error(self.sink, report.body)
        awslambdaric_shim.report_init_error(report.body)
        self.post_init_error(report, report.error_type)
        sys.exit(status)

    def post_init_error(self, report: ErrorReport, error_type: str, path: str = protocol.INIT_ERROR_PATH) -> None:
        request = protocol.init_error_request(
            self.host, self.user_agent, to_json(report.body).encode("utf-8", "backslashreplace"), error_type, path
        )
        try:
            response = self.connection.request(request)
        except TransportError as exc:
            runtime_log(f"Failed to post init error: {exc}")
            return
        if response.status == 403 and self.concurrent:
            return  # another worker has already reported the same init error
        if response.status != 202:
            runtime_log(f"Failed to post init error. Http response code: {response.status}. {response.body[:512]!r}")

    def event_loop(self) -> PersistentLoop:
        if self.async_loop is None:
            from .aio import PersistentLoop

            self.async_loop = PersistentLoop()
        return self.async_loop

    # -- the loop -------------------------------------------------------------------------

    def serve(self, handler: Callable[..., Any]) -> NoReturn:
        while True:
            self.handle(handler, self.next_invocation())

    def next_invocation(self) -> protocol.Invocation:
        # One try in classic mode (as awslambdaric); four more with backoff for a worker.
        delays = (0.1, 0.2, 0.4, 0.8) if self.concurrent else ()
        for attempt in range(len(delays) + 1):
            try:
                response = self.connection.request(self.next_request_bytes)
                invocation = protocol.parse_next(response.status, response.headers, response.body)
                break
            except (TransportError, protocol.ProtocolError) as exc:
                runtime_log(f"Failed to get next invocation: {exc}")
                if attempt == len(delays):
                    # Nothing can be answered: exit and let the platform restart the environment.
                    sys.exit(1)
                time.sleep(delays[attempt])
        for warning in invocation.warnings:
            runtime_log(f"RequestId: {invocation.request_id} {warning}")
        return invocation

    def handle(self, handler: Callable[..., Any], invocation: protocol.Invocation) -> None:
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
                result = self.event_loop().run(result)
            if is_stream(result):
                stream = result
            else:
                body, content_type = self.marshal_result(result)
        except BaseException as exc:
            report, exiting = classify(exc, request_id)
            if exiting:
                self.post_error(invocation, report)
                if self.in_flight is not None:
                    self.in_flight.end()
                raise
            if hooks.ON_ERROR and isinstance(exc, Exception) and not isinstance(exc, FaultError):
                hooks.run(hooks.ON_ERROR, exc, event, context)
        # Posting stays outside the try: a failed post must never be reported as the
        # handler's error (that would be a second outcome for one invocation).
        if report is not None:
            self.post_error(invocation, report)
            outcome = hooks.Outcome(False, error=report.body)
        elif stream is not None:
            from .streaming import send_streaming_response

            outcome = send_streaming_response(self, invocation, stream, event, context)
        else:
            head = protocol.response_head(
                self.host, self.user_agent, request_id, len(body), content_type, invocation.invocation_id
            )
            # Small bodies go in one write; a large one is sent as it is, not copied behind its head.
            if len(body) <= _COALESCE_LIMIT:
                self.post(head + body, request_id)
            else:
                self.post(head, request_id, body)
            outcome = None
        if self.in_flight is not None:
            self.in_flight.end()
        if hooks.AFTER_INVOKE:
            hooks.run(hooks.AFTER_INVOKE, event, context, outcome or hooks.Outcome(True, result))

    def post_error(self, invocation: protocol.Invocation, report: ErrorReport) -> None:
        log_runtime_error(self.sink, report.body)
        body = to_json(report.body).encode("utf-8", "backslashreplace")
        # The cause travels in a header: ASCII-only JSON keeps it one latin-1 line.
        cause = to_json(report.xray_cause, ascii_only=True)
        request = protocol.error_request(
            self.host, self.user_agent, invocation.request_id, body, report.error_type, cause, invocation.invocation_id
        )
        self.post(request, invocation.request_id, what="/error")

    def post(self, request: bytes, request_id: str, body: bytes = b"", what: str = "/response") -> None:
        try:
            response = self.connection.request(request, body)
        except TransportError as exc:
            runtime_log(f"Failed to post {what} for {request_id}: {exc}")
            if self.concurrent:
                return  # this worker's loop goes on; the platform has failed that invocation
            sys.exit(1)
        outcome = protocol.judge_post(response.status, response.body, f"{what} for {request_id}")
        if not outcome.ok:
            runtime_log(outcome.message)


def run(handler_name: str) -> NoReturn:
    awslambdaric_shim.expose()  # before the function's code can look for it
    if "AWS_LAMBDA_MAX_CONCURRENCY" in os.environ:
        from .workers import concurrency, run_workers

        count = concurrency(os.environ)
        if count is not None:
            run_workers(handler_name, count)
    Runtime(handler_name).start()
