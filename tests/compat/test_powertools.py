"""aws-lambda-powertools through the real loop, compared with awslambdaric 4.2.2."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from .conftest import Functions, Session, http_event, with_ids

pytest.importorskip(
    "aws_lambda_powertools", reason="aws-lambda-powertools is not installed (pip install -e '.[compat]')"
)

ENV = {
    "POWERTOOLS_SERVICE_NAME": "orders",
    "POWERTOOLS_METRICS_NAMESPACE": "Compat",
    # Tracer on would need an X-Ray daemon; disabled is how Powertools runs in tests and locally.
    "POWERTOOLS_TRACE_DISABLED": "true",
}
ORDERS = [{"id": "o-1", "orders": 2, "channel": "web"}, {"id": "o-2", "orders": 3, "channel": "app"}]

# What changes from run to run (clock) and nothing else.
VOLATILE = {"timestamp", "Timestamp"}


def stable(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        if key in VOLATILE:
            continue
        out[key] = stable(value) if isinstance(value, dict) else value
    return out


def logger_records(session: Session) -> list[dict[str, Any]]:
    return [r for r in session.json_logs() if "level" in r and "service" in r]


def emf_records(session: Session) -> list[dict[str, Any]]:
    return [r for r in session.json_logs() if "_aws" in r]


def metric_names(record: dict[str, Any]) -> list[str]:
    return [m["Name"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]


@pytest.fixture(scope="module")
def sync_sessions(functions: Functions) -> dict[str, Session]:
    return functions.both("pt_app.handler", with_ids(ORDERS, "sync"), ENV)


def test_sync_handler_results_and_logs_match_awslambdaric(sync_sessions: dict[str, Session]) -> None:
    ours, theirs = sync_sessions["lambdaloop"], sync_sessions["awslambdaric"]
    assert [c.result for c in ours.calls] == [c.result for c in theirs.calls]
    assert ours.calls[0].result == {"id": "o-1", "remaining_is_int": True}
    assert [stable(r) for r in ours.json_logs()] == [stable(r) for r in theirs.json_logs()]


def test_inject_lambda_context_fields(sync_sessions: dict[str, Session]) -> None:
    records = logger_records(sync_sessions["lambdaloop"])
    assert [r["function_request_id"] for r in records] == ["sync-1", "sync-2"]
    assert [r["cold_start"] for r in records] == [True, False]
    first = records[0]
    assert first["function_name"] == "test_function"
    # A str, as under awslambdaric: Powertools copies context.memory_limit_in_mb as it is.
    assert first["function_memory_size"] == "3008"
    assert first["function_arn"] == "arn:aws:lambda:us-east-1:012345678912:function:test_function"
    assert first["order_id"] == "o-1"
    assert first["message"] == "order received"


def test_log_metrics_flushes_one_emf_record_per_invoke(sync_sessions: dict[str, Session]) -> None:
    records = emf_records(sync_sessions["lambdaloop"])
    orders = [r for r in records if metric_names(r) == ["Orders"]]
    assert [(r["Orders"], r["channel"]) for r in orders] == [([2.0], "web"), ([3.0], "app")]
    assert [r["_aws"]["CloudWatchMetrics"][0]["Namespace"] for r in orders] == ["Compat", "Compat"]
    cold = [r for r in records if metric_names(r) == ["ColdStart"]]
    assert len(cold) == 1 and cold[0]["function_name"] == "test_function"


def test_asyncio_run_pattern_works_on_every_invoke(functions: Functions) -> None:
    """Powertools' docs call async code with ``asyncio.run`` from a sync handler: that needs
    no running loop on the handler's thread, invoke after invoke."""
    events = with_ids([{"id": "a"}, {"id": "b"}, {"id": "c"}], "run")
    sessions = functions.both("pt_app.asyncio_run_handler", events, ENV)
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]
    assert [c.result for c in ours.calls] == [{"value": v, "loop_was_running": False} for v in ("A", "B", "C")]
    assert [c.result for c in ours.calls] == [c.result for c in theirs.calls]
    assert [stable(r) for r in ours.json_logs()] == [stable(r) for r in theirs.json_logs()]
    inside = [r for r in logger_records(ours) if r["message"] == "fetched inside a coroutine"]
    assert [r["function_request_id"] for r in inside] == ["run-1", "run-2", "run-3"]
    assert sum(metric_names(r) == ["Fetched"] for r in emf_records(ours)) == 3


def test_native_async_handler_keeps_context_and_flushes_by_hand(functions: Functions) -> None:
    """lambdaloop only (awslambdaric cannot await). ``inject_lambda_context`` on an
    ``async def`` handler: the keys it appends are still there when the coroutine logs."""
    events = with_ids([{"id": "x"}, {"id": "y"}], "async")
    ours = functions.session("pt_app.async_handler", "lambdaloop", events, ENV)
    assert [c.result for c in ours.calls] == [
        {"value": "X", "loop_was_running": True},
        {"value": "Y", "loop_was_running": True},
    ]
    inside = [r for r in logger_records(ours) if r["message"] == "fetched inside a coroutine"]
    assert [(r["function_request_id"], r["cold_start"]) for r in inside] == [("async-1", True), ("async-2", False)]
    assert [r["AsyncOrders"] for r in emf_records(ours) if "AsyncOrders" in r] == [[1.0], [1.0]]


def test_log_metrics_on_async_def_flushes_too_early(functions: Functions) -> None:
    """The documented trap (MIGRATING.md): ``@metrics.log_metrics`` on an ``async def``
    flushes before the coroutine runs, so a metric added in it is published one invoke late,
    or never. If this starts failing, Powertools has made ``log_metrics`` async-aware: update
    the "Works with" row. Under awslambdaric the same handler cannot run at all."""
    events = with_ids([{"id": "1"}, {"id": "2"}], "trap")
    sessions = functions.both("pt_app.async_log_metrics_handler", events, ENV)
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]
    assert [c.result for c in ours.calls] == [{"id": "1"}, {"id": "2"}]
    late = [r for r in emf_records(ours) if "LateMetric" in r]
    # Invoke 1 flushed nothing; invoke 2 flushed invoke 1's metric.
    assert [r["LateMetric"] for r in late] == [[1.0]]
    assert "No application metrics to publish" in ours.text()
    assert [c.error_type for c in theirs.calls] == ["Runtime.MarshalError", "Runtime.MarshalError"]


def test_typing_lambda_context_attributes_match_awslambdaric(functions: Functions) -> None:
    """Every attribute Powertools' ``LambdaContext`` annotation declares exists on the real
    object with awslambdaric's type (``memory_limit_in_mb`` is a str under both: Powertools'
    ``int`` is only an annotation)."""
    client_context = {"client": {"installation_id": "i-1", "app_title": "t"}, "custom": {"k": "v"}, "env": {"e": 1}}
    headers = {"X-Amz-Client-Context": base64.b64encode(json.dumps(client_context).encode()).decode()}
    events: list[Any] = [({}, headers), {}]
    sessions = functions.both("pt_app.context_shape", events, ENV)
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]
    assert [c.result for c in ours.calls] == [c.result for c in theirs.calls]
    with_client, without = ours.calls[0].result, ours.calls[1].result
    assert with_client["memory_limit_in_mb"] == "str"
    assert with_client["identity"] == {"cognito_identity_id": "NoneType", "cognito_identity_pool_id": "NoneType"}
    assert with_client["client_context"]["client"]["installation_id"] == "str"
    assert with_client["client_context.custom"] == {"k": "v"}
    assert without["client_context"] == "NoneType"
    assert with_client["get_remaining_time_in_millis"] == "int"


@pytest.mark.parametrize(
    ("handler", "kind"),
    [("pt_app.rest_handler", "apigw-v1"), ("pt_app.http_handler", "apigw-v2"), ("pt_app.url_handler", "function-url")],
)
def test_event_handler_resolvers(functions: Functions, handler: str, kind: str) -> None:
    events = [
        http_event(kind, "GET", "/orders/42", query="verbose=yes"),
        http_event(kind, "POST", "/orders", body=json.dumps({"sku": "s-1"})),
        http_event(kind, "GET", "/nowhere"),
    ]
    sessions = functions.both(handler, events, ENV)
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]
    assert [c.result for c in ours.calls] == [c.result for c in theirs.calls]
    got, created, missing = (c.result for c in ours.calls)
    assert (got["statusCode"], json.loads(got["body"])) == (200, {"order_id": "42", "query": "yes"})
    assert (created["statusCode"], json.loads(created["body"])) == (201, {"created": {"sku": "s-1"}})
    assert missing["statusCode"] == 404


def test_resolve_async_with_asyncio_run_and_natively(functions: Functions) -> None:
    """``resolve_async`` the way Powertools documents it (sync handler + ``asyncio.run``),
    under both runtimes, and awaited directly on lambdaloop's loop."""
    events = [http_event("apigw-v2", "GET", f"/async/{name}") for name in ("ann", "bob")]
    sessions = functions.both("pt_app.resolve_async_run_handler", events, ENV)
    assert [c.result for c in sessions["lambdaloop"].calls] == [c.result for c in sessions["awslambdaric"].calls]
    assert [json.loads(c.result["body"]) for c in sessions["lambdaloop"].calls] == [
        {"hello": "ann", "loop_was_running": True},  # inside asyncio.run's own loop
        {"hello": "bob", "loop_was_running": True},
    ]
    native = functions.session("pt_app.resolve_async_handler", "lambdaloop", events, ENV)
    assert [c.result for c in native.calls] == [c.result for c in sessions["lambdaloop"].calls]
