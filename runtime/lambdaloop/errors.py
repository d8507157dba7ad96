"""Exceptions to the error bodies, X-Ray causes and log lines awslambdaric produces.

Key order, messages and the ``stackTrace`` format are awslambdaric 4.2.2's
(held to it by tests/conformance), because callers and log queries parse them.
``traceback`` is imported only when an error actually happens: a cold start pays nothing.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

# Fault types, with awslambdaric's spelling.
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
# Posted by lambdaloop where awslambdaric posts nothing (a handler calling sys.exit).
EXIT_ERROR = "Runtime.ExitError"

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class FaultError(Exception):
    """A failure of the runtime's own contract (bad handler, bad JSON), not of user code."""

    runtime_fault = True  # what hooks.notify_error looks for (hooks does not import this module)

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class ErrorReport:
    """One error, ready to post and to log."""

    __slots__ = ("body", "error_type", "xray_cause")

    def __init__(self, body: dict[str, Any], xray_cause: dict[str, Any]) -> None:
        self.body = body
        self.xray_cause = xray_cause
        self.error_type: str = body["errorType"]


def make_error_body(
    message: str | None, error_type: str | None, stack_trace: list[str] | None, request_id: str
) -> dict[str, Any]:
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id,
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb: TracebackType | None) -> list[tuple[str, int, str, str | None]]:
    """Frames of ``tb`` with the leading lambdaloop frames dropped.

    awslambdaric drops leading frames whose file name contains "/bootstrap.py" (a user file
    of that name too); we drop leading frames that live in this package, by path.
    """
    import traceback

    frames = [(f.filename, f.lineno or 0, f.name, f.line) for f in traceback.extract_tb(tb)]
    for index, frame in enumerate(frames):
        if not frame[0].startswith(_PACKAGE_DIR):
            return frames[index:]
    return frames


def _safe_str(value: BaseException) -> str:
    try:
        return str(value)
    except Exception as exc:  # a user __str__ that raises must not lose the error
        return f"<exception str() failed: {type(exc).__name__}>"


def report_exception(exc: BaseException, request_id: str, message: str | None = None) -> ErrorReport:
    """The error for an exception raised by user code (handler or module import)."""
    import traceback

    frames = _user_frames(exc.__traceback__)
    text = message if message is not None else _safe_str(exc)
    error_type = type(exc).__name__
    body = make_error_body(text, error_type, traceback.format_list(frames), request_id)
    return ErrorReport(body, make_xray_cause(error_type, text, frames))


def report_fault(fault: FaultError, request_id: str) -> ErrorReport:
    body = make_error_body(fault.message, fault.error_type, fault.trace, request_id)
    return ErrorReport(body, make_xray_cause("LambdaValidationError", fault.message, []))


def make_xray_cause(error_type: str, message: str, frames: list[tuple[str, int, str, str | None]]) -> dict[str, Any]:
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _code in frames]
    # awslambdaric builds "paths" from a set (random order); first-seen order is stable.
    paths = list(dict.fromkeys(path for path, _line, _name, _code in frames))
    try:
        working_directory = os.getcwd()
    except OSError:  # the handler removed its own working directory: still report its error
        working_directory = ""
    return {
        "working_directory": working_directory,
        "exceptions": [{"message": message, "type": error_type, "stack": stack}],
        "paths": paths,
    }


def syntax_error_trace(exc: SyntaxError) -> list[str]:
    # awslambdaric's hand-built element, capital "Line" and all.
    return [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']


def exit_code_of(exc: SystemExit) -> int:
    """The process exit status Python itself would use for this SystemExit."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1


def exit_message(how: str, request_id: str = "") -> str:
    """The platform's Runtime.ExitError message (``how``: "exit status 3", "signal: killed"),
    with the invocation's id when there is one."""
    text = f"Runtime exited with error: {how}"
    return f"RequestId: {request_id} Error: {text}" if request_id else text


def exit_report(exc: SystemExit, request_id: str) -> ErrorReport:
    """A handler ended the process (sys.exit). awslambdaric posts nothing and the platform
    later reports Runtime.ExitError; we post the same type first, with the place the exit
    came from, so the invocation is never left without an answer. ``request_id`` is empty
    for a module-level sys.exit (an init error)."""
    import traceback

    message = exit_message(f"exit status {exit_code_of(exc)}", request_id)
    frames = _user_frames(exc.__traceback__)
    body = make_error_body(message, EXIT_ERROR, traceback.format_list(frames), request_id)
    return ErrorReport(body, make_xray_cause(EXIT_ERROR, message, frames))


def format_text_error_lines(body: dict[str, Any]) -> list[str]:
    """awslambdaric's text error log: a description line, the traceback header (always),
    then each trace line with its leading spaces turned into NO-BREAK SPACEs."""
    description = "[ERROR]"
    error_type = body.get("errorType")
    if error_type:
        description += " " + error_type
    message = body.get("errorMessage")
    if message:
        if error_type:
            description += ":"
        description += " " + message
    lines = [description]
    stack_trace = body.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
                continue
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return lines


def classify(exc: BaseException, request_id: str) -> tuple[ErrorReport, bool]:
    """The error to post for whatever a handler (or stream) raised, and whether the process
    must then end (only for sys.exit). Never raises: a report that cannot be built in full
    (a broken ``__str__``, a deleted working directory) falls back to the bare type, because
    the one thing that must not happen is an invocation left without an answer."""
    exiting = isinstance(exc, SystemExit)
    try:
        if isinstance(exc, FaultError):
            return report_fault(exc, request_id), False
        if isinstance(exc, SystemExit):
            return exit_report(exc, request_id), True
        # KeyboardInterrupt (nothing in Lambda sends SIGINT: a handler raised it, and ending
        # the environment for it would only cost a cold start), asyncio.CancelledError,
        # GeneratorExit or a user's BaseException subclass: an error for this invocation,
        # not the end of the process.
        return report_exception(exc, request_id), False
    except BaseException:
        error_type = EXIT_ERROR if exiting else type(exc).__name__
        return ErrorReport(make_error_body(_safe_str(exc), error_type, [], request_id), {}), exiting
