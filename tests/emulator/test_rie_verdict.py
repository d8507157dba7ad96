"""RieVerdict: the failure of an invoke read from the RIE's log lines (the lines below are the
pinned RIE's own, copied from its debug output); the end-to-end check is in test_cli.py."""

from __future__ import annotations

import pytest

from lambdaloop.emulator.rie_verdict import RieVerdict

STAMP = "04 Dec 2026 12:22:13,767"
ERROR_POST = (
    f"{STAMP} [DEBUG] (rapid) API request - POST /2018-06-01/runtime/invocation/0f1e/error, Headers:map["
    "Content-Type:[application/json] Lambda-Runtime-Function-Error-Type:[ValueError] User-Agent:[lambdaloop/0.1.0]]"
)
RESPONSE_POST = (
    f"{STAMP} [DEBUG] (rapid) API request - POST /2018-06-01/runtime/invocation/0f1e/response, Headers:map["
    "Content-Type:[application/json]]"
)
TIMEOUT = f"{STAMP} [WARNING] (rapid) Reset initiated: Timeout"
CRASH = f"{STAMP} [ERROR] (rapid) Invoke failed error=Runtime exited with error: exit status 7 InvokeID=0f1e"
REPORT = "REPORT RequestId: 0f1e\tInit Duration: 0.03 ms\tDuration: 45.25 ms"


def verdict_of(lines: list[str]) -> tuple[str | None, list[str], bool]:
    shown: list[str] = []
    verdict = RieVerdict(shown.append)
    for line in lines:
        verdict.feed(line)
    return verdict.error_type, shown, verdict.reported.is_set()


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([RESPONSE_POST, REPORT], None),
        ([ERROR_POST, REPORT], "ValueError"),
        ([ERROR_POST.replace("Lambda-Runtime-Function-Error-Type:[ValueError] ", ""), REPORT], "Runtime.Unknown"),
        ([CRASH], "Runtime.ExitError"),
        # A timeout logs a crash first and the ended runtime may still post an error: timeout wins.
        ([CRASH, TIMEOUT, ERROR_POST, REPORT], "Sandbox.Timedout"),
    ],
)
def test_the_failure_is_read_from_the_rie_log(lines: list[str], expected: str | None) -> None:
    error, _, _ = verdict_of(lines)
    assert error == expected


def test_debug_lines_are_hidden_and_the_rest_shown() -> None:
    function_output = "[ERROR] ValueError: boom"
    _, shown, reported = verdict_of([RESPONSE_POST, ERROR_POST, TIMEOUT, function_output, REPORT])
    assert shown == [TIMEOUT, function_output, REPORT]
    assert reported


@pytest.mark.parametrize(
    "line",
    [
        "",
        "API request - POST /2018-06-01/runtime/invocation/x/error",  # no RIE prefix: the function's own text
        f"{STAMP} [DEBUG] (rapid) API request - POST /2018-06-01/runtime/invocation/x/response",
        f"{STAMP} [DEBUG] (rapid) API request - POST /2018-06-01/runtime/invocation/x/errors",
        f"{STAMP} [DEBUG] (rapid)",
        "\x00\udcff" * 50,
        "REPORT",
    ],
)
def test_lines_that_are_not_a_failure_change_nothing(line: str) -> None:
    error, shown, _ = verdict_of([line])
    assert error is None
    assert shown in ([line], [])
