"""OpenTelemetry's Lambda instrumentation through handler redirection, as its layer does it:
``_HANDLER=otel_wrapper.lambda_handler`` and ``ORIG_HANDLER=otel_app.handler``. lambdaloop is
started with no handler argument, so it takes ``_HANDLER`` from the environment as Lambda's
bootstrap does; awslambdaric is given it on the command line (its only way)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import RUNTIMES, Functions, Session, http_event

pytest.importorskip(
    "opentelemetry.instrumentation.aws_lambda",
    reason="opentelemetry-instrumentation-aws-lambda is not installed (pip install -e '.[compat]')",
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def events() -> list[Any]:
    api = http_event("apigw-v2", "GET", "/orders")
    api["headers"] = {**api["headers"], "traceparent": TRACEPARENT}
    return [
        ({"id": 1}, {"X-Amzn-RequestId": "otel-1"}),
        (api, {"X-Amzn-RequestId": "otel-2"}),
        ({"id": 3, "fail": True}, {"X-Amzn-RequestId": "otel-3"}),
    ]


def spans(session: Session) -> list[dict[str, Any]]:
    prefix = "OTEL_SPAN "
    return [json.loads(line[len(prefix) :]) for line in session.logs if line.startswith(prefix)]


def shape(span: dict[str, Any], server_ids: set[str]) -> dict[str, Any]:
    """What must be the same under both runtimes: all but ids, clocks and the process id."""
    parent = span["parent_id"]
    return {
        "name": span["name"],
        "kind": span["kind"],
        "status": span["status"]["status_code"],
        "attributes": span["attributes"],
        "events": [e["name"] for e in span["events"]],
        "parent": None if parent is None else ("server" if parent in server_ids else parent),
    }


@pytest.fixture(scope="module")
def sessions(functions: Functions) -> dict[str, Session]:
    env = {"ORIG_HANDLER": "otel_app.handler"}
    return {
        runtime: functions.session(
            "otel_wrapper.lambda_handler", runtime, events(), env, pass_handler=runtime == "awslambdaric"
        )
        for runtime in RUNTIMES
    }


def test_one_server_span_per_invoke(sessions: dict[str, Session]) -> None:
    ours = sessions["lambdaloop"]
    server = [s for s in spans(ours) if s["kind"] == "SpanKind.SERVER"]
    assert [s["attributes"]["faas.invocation_id"] for s in server] == ["otel-1", "otel-2", "otel-3"]
    assert {s["name"] for s in server} == {"test_function"}
    assert (
        server[0]["attributes"]["cloud.resource_id"] == "arn:aws:lambda:us-east-1:012345678912:function:test_function"
    )
    # The API Gateway request continues the caller's W3C trace.
    assert server[1]["context"]["trace_id"] == "0x0af7651916cd43dd8448eb211c80319c"
    assert server[1]["parent_id"] == "0xb7ad6b7169203331"
    assert server[1]["attributes"]["faas.trigger"] == "http"
    # The failing invoke: the span records the exception, the invoker gets the error.
    assert server[2]["status"]["status_code"] == "ERROR"
    assert [e["name"] for e in server[2]["events"]] == ["exception"]
    failed = ours.calls[2]
    assert (failed.ok, failed.error_type, failed.error["errorMessage"]) == (False, "RuntimeError", "work failed")
    # The handler's own span is a child of the invoke's span, in the same trace.
    work = [s for s in spans(ours) if s["name"] == "work"]
    assert [w["parent_id"] for w in work] == [s["context"]["span_id"] for s in server]
    assert ours.calls[1].result["body"] == "0af7651916cd43dd8448eb211c80319c"


def test_spans_and_results_match_awslambdaric(sessions: dict[str, Session]) -> None:
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]

    def summary(session: Session) -> list[dict[str, Any]]:
        all_spans = spans(session)
        server_ids = {s["context"]["span_id"] for s in all_spans if s["kind"] == "SpanKind.SERVER"}
        return [shape(s, server_ids) for s in all_spans]

    assert summary(ours) == summary(theirs)
    assert [c.ok for c in ours.calls] == [c.ok for c in theirs.calls] == [True, True, False]
    assert ours.calls[2].error == theirs.calls[2].error | {"requestId": "otel-3"}
