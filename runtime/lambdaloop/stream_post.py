"""Posting a streamed response: the runtime's side of ``lambdaloop.streaming``.

The loop hands over what a handler returned (a generator, an async generator, an
``HttpResponse``, a ``@streaming`` writer call) and gets back what happened, as a value:
the outcome for the hooks, whether the response was lost with the connection, and the
``SystemExit`` a handler raised, if any. Exactly one thing is posted for the invocation:
the complete response, an ``/error`` (failure before the first byte), or a response ended
by error trailers (failure after it). Deciding whether the process ends is not done here:
that is the loop's exit policy.
"""

from __future__ import annotations

from . import hooks, protocol
from .errors import ErrorReport, classify, make_error_body, report_exception
from .hooks import Outcome
from .marshal import json_bytes
from .streaming import ResponseStream, pump
from .upload import BROKEN, OPEN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any

    from .protocol import Invocation
    from .runtime_client import RuntimeClient
    from .upload import ResponseTooLargeError, StreamUpload

# The error type of a stream cut at the limit: RAPID's own for an oversized response.
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
# The error-body trailer is one header line: a deep traceback is cut to keep it sane.
TRAILER_BODY_LIMIT = 64 * 1024


class StreamResult:
    """What posting a stream came to. ``lost``: the connection failed and no answer from the
    platform was read, so the response may never have arrived (classic mode ends the process
    for that, as for a buffered post). ``exiting``: the handler called sys.exit while streaming
    (its Runtime.ExitError has been posted)."""

    __slots__ = ("exiting", "lost", "messages", "outcome")

    def __init__(
        self, outcome: Outcome, messages: list[str], lost: bool = False, exiting: SystemExit | None = None
    ) -> None:
        self.outcome = outcome
        self.messages = messages  # diagnostics for the runtime's log, in order
        self.lost = lost
        self.exiting = exiting


def post_stream(
    client: RuntimeClient,
    invocation: Invocation,
    stream: object,
    run_async: Callable[[Awaitable[Any]], Any],
    post_error: Callable[[Invocation, ErrorReport], None],
    log_error: Callable[[ErrorReport], None],
    event: Any = None,
    context: Any = None,
) -> StreamResult:
    """Stream ``stream`` as the response to ``invocation``. ``run_async`` runs an async producer
    on the runtime's loop; ``post_error`` posts an ``/error`` (through the loop, which owns what a
    failed post means); ``log_error`` writes an error record. ``event`` and ``context`` are only
    for ``hooks.on_error``, called for an exception raised while streaming."""
    request_id = invocation.request_id
    response = ResponseStream(client.open_stream(invocation))
    report: ErrorReport | None = None
    exiting: SystemExit | None = None
    try:
        work = pump(stream, response)
        if work is not None:
            run_async(work)
    except BaseException as exc:
        report, must_exit = classify(exc, request_id)
        if must_exit and isinstance(exc, SystemExit):
            exiting = exc
        else:
            hooks.notify_error(exc, event, context)
    if response.limit_error is not None and exiting is None:
        report = _limit_report(response.limit_error, request_id)
    result = _conclude(client, invocation, response, report, stream, post_error, log_error)
    result.exiting = exiting
    return result


def _conclude(
    client: RuntimeClient,
    invocation: Invocation,
    response: ResponseStream,
    report: ErrorReport | None,
    result: object,
    post_error: Callable[[Invocation, ErrorReport], None],
    log_error: Callable[[ErrorReport], None],
) -> StreamResult:
    upload = response.upload
    messages: list[str] = []
    if report is not None and not upload.started:
        post_error(invocation, report)  # nothing of the response was sent
        return StreamResult(Outcome(False, error=report.body), messages)
    if report is not None:
        log_error(report)
    if upload.state == BROKEN:
        return _broken(client, invocation, upload, messages)
    if report is None:
        response.close()
    elif upload.state == OPEN:
        response.finish_with_error(report.error_type, trailer_body(report.body))
    else:
        # The handler closed its stream, then failed: the response went out complete and
        # the error is in the log only (there is no second outcome to post).
        messages.append(f"RequestId: {invocation.request_id} the handler failed after closing its response stream")
        report = None
    if upload.state == BROKEN:
        return _broken(client, invocation, upload, messages)
    # The Runtime API asks that the connection be closed after a streamed response.
    client.reset()
    answer = upload.answer
    if answer is not None:
        judged = protocol.judge_post(answer.status, answer.body, f"streamed /response for {invocation.request_id}")
        if not judged.ok:
            messages.append(judged.message)
    if report is not None:
        return StreamResult(Outcome(False, error=report.body), messages)
    return StreamResult(Outcome(True, result), messages)


def _broken(client: RuntimeClient, invocation: Invocation, upload: StreamUpload, messages: list[str]) -> StreamResult:
    """The connection failed mid-stream. RAPID may have refused the request and closed (its
    answer is then waiting to be read); otherwise the response is lost."""
    what = f"streamed /response for {invocation.request_id}"
    answer = upload.answer if upload.answer is not None else upload.read_answer()
    client.reset()
    failure = upload.failure
    lost = answer is None
    if answer is not None:
        judged = protocol.judge_post(answer.status, answer.body, what)
        messages.append(judged.message if not judged.ok else f"{what} was cut short: {failure}")
    else:
        messages.append(f"Failed to post {what}: {failure}")
    body = make_error_body(str(failure), type(failure).__name__, [], invocation.request_id)
    return StreamResult(Outcome(False, error=body), messages, lost=lost)


def _limit_report(exc: ResponseTooLargeError, request_id: str) -> ErrorReport:
    report = report_exception(exc, request_id)
    report.body["errorType"] = RESPONSE_TOO_LARGE
    report.error_type = RESPONSE_TOO_LARGE
    return report


def trailer_body(body: dict[str, Any]) -> bytes:
    """The JSON for the Error-Body trailer: the /error body, cut to TRAILER_BODY_LIMIT by
    dropping the outermost stack frames first, then shortening the message."""
    data = json_bytes(body)
    if len(data) <= TRAILER_BODY_LIMIT:
        return data
    cut = dict(body)
    trace = list(cut.get("stackTrace") or [])
    while trace and len(data) > TRAILER_BODY_LIMIT:
        trace = trace[len(trace) // 2 + 1 :] if len(trace) > 1 else []
        cut["stackTrace"] = trace
        data = json_bytes(cut)
    if len(data) > TRAILER_BODY_LIMIT:
        cut["errorMessage"] = str(cut.get("errorMessage", ""))[: TRAILER_BODY_LIMIT // 4] + " [truncated]"
        data = json_bytes(cut)
    return data
