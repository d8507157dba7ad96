"""sentry-sdk's AwsLambdaIntegration, with a transport that records instead of sending.

The integration monkeypatches awslambdaric (``__main__.bootstrap.handle_event_request`` and
``LambdaRuntimeClient.post_*``) and silently disables itself when it cannot find them. These
tests hold lambdaloop to what awslambdaric gives a Sentry user: the handler's exception
captured (mechanism ``aws_lambda``, request id, region), one transaction per invoke, the
queue drained before the next invoke, and an init error captured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import RUNTIMES, Functions, read_records

pytest.importorskip("sentry_sdk", reason="sentry-sdk is not installed (pip install -e '.[compat]')")

EVENTS: list[Any] = [
    ({"fail": "o-1"}, {"X-Amzn-RequestId": "sentry-1"}),
    ({}, {"X-Amzn-RequestId": "sentry-2"}),
    ({}, {"X-Amzn-RequestId": "sentry-3"}),
]


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_handler_exception_and_transactions_are_captured(functions: Functions, record_file: Path, runtime: str) -> None:
    session = functions.session("sentry_app.handler", runtime, EVENTS, {"COMPAT_RECORD": str(record_file)})
    failed, second, third = session.calls
    assert (failed.ok, failed.error_type, failed.error["errorMessage"]) == (False, "ValueError", "bad order o-1")
    assert second.result["found_bootstrap"], "AwsLambdaIntegration disabled itself: no awslambdaric bootstrap found"
    records = read_records(record_file)
    events = [r for r in records if r["type"] == "event"]
    assert len(events) == 1, records
    event = events[0]
    assert (event["exception_type"], event["exception_value"]) == ("ValueError", "bad order o-1")
    assert (event["mechanism"], event["handled"]) == ("aws_lambda", False)
    assert event["frames"][-1] == "handler"
    assert (event["aws_request_id"], event["function_name"], event["aws_region"]) == (
        "sentry-1",
        "test_function",
        "us-east-1",
    )
    transactions = [r for r in records if r["type"] == "transaction"]
    assert [t["aws_request_id"] for t in transactions] == ["sentry-1", "sentry-2", "sentry-3"]
    assert {(t["transaction"], t["op"]) for t in transactions} == {("test_function", "function.aws")}
    # Drained before the next invoke ran: invoke 2 already sees invoke 1's error and
    # transaction delivered, invoke 3 sees invoke 2's transaction too.
    assert second.result["delivered_before"] == ["event", "transaction", "flush"]
    assert third.result["delivered_before"] == ["event", "transaction", "flush", "transaction", "flush"]


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_init_error_is_captured(functions: Functions, record_file: Path, runtime: str) -> None:
    env = {"COMPAT_RECORD": str(record_file), "COMPAT_FAIL_INIT": "1"}
    session = functions.session("sentry_app.handler", runtime, [{}], env)
    (failed,) = session.calls
    assert (failed.ok, failed.error_type) == (False, "RuntimeError")
    events = [r for r in read_records(record_file) if r["type"] == "event"]
    assert len(events) == 1, "the init error was not captured"
    event = events[0]
    assert (event["exception_type"], event["exception_value"]) == ("RuntimeError", "configuration is missing")
    assert (event["mechanism"], event["handled"]) == ("aws_lambda", False)
    assert event["frames"][-1] == "<module>"


def test_public_hooks_recipe_works_today(functions: Functions, record_file: Path) -> None:
    """Without AwsLambdaIntegration: ``hooks.on_error`` captures, ``hooks.after_invoke``
    flushes, ``hooks.on_init_error`` reports the init error (MIGRATING.md's recipe)."""
    env = {"COMPAT_RECORD": str(record_file)}
    session = functions.session("sentry_hooks_app.handler", "lambdaloop", EVENTS, env)
    assert [c.ok for c in session.calls] == [False, True, True]
    records = read_records(record_file)
    events = [r for r in records if r["type"] == "event"]
    assert [(e["exception_type"], e["exception_value"], e["tag_request_id"]) for e in events] == [
        ("ValueError", "bad order o-1", "sentry-1")
    ]
    # Flushed after each invoke, before the next one ran.
    assert session.calls[1].result["delivered_before"] == ["event", "flush"]
    assert session.calls[2].result["delivered_before"] == ["event", "flush", "flush"]

    record_file.write_text("")
    failed = functions.session("sentry_hooks_app.handler", "lambdaloop", [{}], {**env, "COMPAT_FAIL_INIT": "1"})
    assert failed.calls[0].error_type == "RuntimeError"
    init_events = [r for r in read_records(record_file) if r["type"] == "event"]
    assert [(e["exception_type"], e["exception_value"]) for e in init_events] == [
        ("RuntimeError", "configuration is missing")
    ]
