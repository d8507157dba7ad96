"""datadog-lambda's handler redirection (``_HANDLER=datadog_lambda.handler.handler``,
``DD_LAMBDA_HANDLER=dd_app.handler``) through the real loop, compared with awslambdaric.

With no Datadog extension in the environment, datadog-lambda writes metrics to the log
(``DD_FLUSH_TO_LOG``) and ddtrace writes traces to the log too (its Lambda log writer, used
when no extension is there: setting ``DD_TRACE_AGENT_URL`` would switch it to the agent
writer). Checked with strace: the only sockets connected are to the emulator on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import RUNTIMES, Functions, Session

pytest.importorskip("datadog_lambda", reason="datadog-lambda is not installed (pip install -e '.[compat]')")

ENV = {
    "DD_LAMBDA_HANDLER": "dd_app.handler",
    "DD_FLUSH_TO_LOG": "true",
    "DD_API_KEY": "0" * 32,  # never used: metrics go to the log
    "DD_SITE": "datadoghq.invalid",
    "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
    "DD_REMOTE_CONFIGURATION_ENABLED": "false",
}
EVENTS: list[Any] = [
    ({"orders": 2, "channel": "web"}, {"X-Amzn-RequestId": "dd-1"}),
    ({"orders": 5, "channel": "app"}, {"X-Amzn-RequestId": "dd-2"}),
    ({"fail": True}, {"X-Amzn-RequestId": "dd-3"}),
]


@pytest.fixture(scope="module")
def sessions(functions: Functions) -> dict[str, Session]:
    return {
        runtime: functions.session(
            "datadog_lambda.handler.handler", runtime, EVENTS, ENV, pass_handler=runtime == "awslambdaric"
        )
        for runtime in RUNTIMES
    }


def metrics(session: Session) -> list[tuple[str, float, list[str]]]:
    out = []
    for record in session.json_logs():
        if "m" in record:
            tags = sorted(t for t in record["t"] if not t.startswith(("dd_lambda_layer:", "datadog_lambda:")))
            out.append((record["m"], record["v"], tags))
    return out


def invocation_spans(session: Session) -> list[dict[str, Any]]:
    return [
        span
        for record in session.json_logs()
        for trace in record.get("traces", [])
        for span in trace
        if span["name"] == "aws.lambda"
    ]


def test_wrapper_runs_on_every_invoke(sessions: dict[str, Session]) -> None:
    ours = sessions["lambdaloop"]
    assert [c.result for c in ours.calls[:2]] == [
        {"ok": True, "request_id": "dd-1"},
        {"ok": True, "request_id": "dd-2"},
    ]
    failed = ours.calls[2]
    assert (failed.ok, failed.error_type, failed.error["errorMessage"]) == (False, "KeyError", "'missing order'")
    got = metrics(ours)
    invocations = [tags for name, _, tags in got if name == "aws.lambda.enhanced.invocations"]
    assert ["cold_start:true" in t for t in invocations] == [True, False, False]
    assert [name for name, _, _ in got if name == "aws.lambda.enhanced.errors"] == ["aws.lambda.enhanced.errors"]
    assert [(v, t) for name, v, t in got if name == "compat.orders"] == [(2, ["channel:web"]), (5, ["channel:app"])]
    spans = invocation_spans(ours)
    assert [(s["meta"]["request_id"], s["error"]) for s in spans] == [("dd-1", 0), ("dd-2", 0), ("dd-3", 1)]
    assert spans[0]["meta"]["function_arn"] == "arn:aws:lambda:us-east-1:012345678912:function:test_function"


def test_same_results_metrics_and_spans_as_awslambdaric(sessions: dict[str, Session]) -> None:
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]
    assert [(c.ok, c.result, c.error) for c in ours.calls] == [(c.ok, c.result, c.error) for c in theirs.calls]
    assert [(n, v, t) for n, v, t in metrics(ours)] == [(n, v, t) for n, v, t in metrics(theirs)]

    def shape(span: dict[str, Any]) -> dict[str, Any]:
        # The process tags name the entry point (lambdaloop vs awslambdaric): expected to differ.
        volatile = {"_dd.tags.process", "runtime-id", "_dd.p.tid"}
        meta = {k: v for k, v in span["meta"].items() if k not in volatile}
        return {"name": span["name"], "service": span["service"], "error": span["error"], "meta": meta}

    assert [shape(s) for s in invocation_spans(ours)] == [shape(s) for s in invocation_spans(theirs)]
