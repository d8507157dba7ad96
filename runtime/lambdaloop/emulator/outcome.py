"""How one invocation ended, and what the invoke API answers for it (pure).

The answers mirror the classic RIE byte for byte where it is deterministic (status codes,
``text/plain; charset=utf-8`` content type, the exact error JSON and timeout text observed from the
RIE binary); the one addition is ``X-Amz-Function-Error``, the
header the real Invoke API sets on failures, so clients can tell an error from a result
that happens to look like one without guessing from the body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lambdaloop.protocol import MAX_BUFFERED_PAYLOAD

RIE_CONTENT_TYPE = "text/plain; charset=utf-8"
ERROR_HEADER = "X-Amz-Function-Error"


@dataclass(frozen=True, slots=True)
class Outcome:
    """``kind`` is one of: success, error (the function's own error), timeout, exit (the
    runtime process died), init (init failed), platform (the emulator refused something the
    runtime did, e.g. a response over the size limit)."""

    kind: str
    body: bytes = b""
    content_type: str | None = None
    error_type: str | None = None
    # HTTP status for the classic invoke endpoint (200 except the RIE's 502 cases).
    status: int = 200
    timeout_s: float = 0.0

    @property
    def failed(self) -> bool:
        return self.kind != "success"

    @property
    def telemetry_status(self) -> str:
        """The ``status`` field of platform.runtimeDone / platform.report."""
        return {"success": "success", "error": "error", "timeout": "timeout"}.get(self.kind, "failure")


def error_json(error_type: str, message: str) -> bytes:
    # Go's json.Marshal key order as the RIE renders it: errorType first, no spaces.
    return json.dumps({"errorType": error_type, "errorMessage": message}, separators=(",", ":")).encode()


def success(body: bytes, content_type: str | None) -> Outcome:
    return Outcome("success", body, content_type)


def function_error(body: bytes, error_type: str | None) -> Outcome:
    return Outcome("error", body, "application/json", error_type or _error_type_of(body) or "Unhandled")


def timeout(seconds: float) -> Outcome:
    return Outcome(
        "timeout",
        f"Task timed out after {seconds:.2f} seconds".encode(),
        error_type="Sandbox.Timedout",
        timeout_s=seconds,
    )


def exit_error(request_id: str, reason: str) -> Outcome:
    message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
    return Outcome("exit", error_json("Runtime.ExitError", message), error_type="Runtime.ExitError", status=502)


def init_error(body: bytes, error_type: str | None) -> Outcome:
    """The runtime reported (or died during) init: 502 with its error JSON, empty if it posted none."""
    return Outcome("init", body, error_type=error_type or _error_type_of(body) or "Runtime.ExitError", status=502)


def snapstart_timeout() -> Outcome:
    """SnapStart: the restore (after-restore hooks) took longer than Lambda's 10 s; the Invoke
    API answers 408 with this error."""
    message = "Lambda couldn't restore the snapshot within the timeout limit."
    return Outcome(
        "init", error_json("SnapStartTimeoutException", message), error_type="SnapStartTimeoutException", status=408
    )


def response_too_large(runtime_alive: bool) -> Outcome:
    # The RIE answers 200 when the runtime carries on to /next and 502 when it exits after
    # the 413 (awslambdaric does exit); the emulator decides which once it knows.
    message = f"Response payload size exceeded maximum allowed payload size ({MAX_BUFFERED_PAYLOAD} bytes)."
    return Outcome(
        "platform",
        error_json("Function.ResponseSizeTooLarge", message),
        error_type="Function.ResponseSizeTooLarge",
        status=200 if runtime_alive else 502,
    )


def unavailable() -> Outcome:
    """Lambda Managed Instances: no runtime is waiting in /next for this invoke. The RIE's LMI
    engine answers at once (it has no queue), with this status and body."""
    return Outcome("unavailable", b'{"errorType":"Runtime.Unavailable"}', error_type="Runtime.Unavailable", status=400)


def platform_error(error_type: str, message: str) -> Outcome:
    return Outcome("platform", error_json(error_type, message), error_type=error_type)


def _error_type_of(body: bytes) -> str | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if isinstance(value, dict) and isinstance(value.get("errorType"), str):
        return value["errorType"]
    return None


def invoke_answer(outcome: Outcome) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of the classic invoke endpoint's answer."""
    if outcome.kind == "unavailable":
        return outcome.status, [("Content-Type", "application/json")], outcome.body
    headers = [("Content-Type", RIE_CONTENT_TYPE)]
    if outcome.failed:
        # "Unhandled" is what the Invoke API says for errors the function did not catch.
        headers.append((ERROR_HEADER, "Unhandled"))
    return outcome.status, headers, outcome.body
