"""Invokes through the real RIE: results, handler errors, context, trace id, warm reuse, payload sizes."""

from __future__ import annotations

import json

import pytest
from expect import ERROR_KEYS, expected_stack, load_function_module
from rieharness import FUNCTIONS, RiePool, RieServer, b64_json

APP = FUNCTIONS / "app.py"
SIX_MIB_LIMIT = 6 * 1024 * 1024 + 100  # the RIE passes responses up to 6,291,556 bytes
RESPONSE_TOO_LARGE = {
    "errorType": "Function.ResponseSizeTooLarge",
    "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
}


@pytest.fixture(scope="module")
def app(rie_pool: RiePool, runtime: str) -> RieServer:
    return rie_pool.shared(runtime, "app.handler")


# ------------------------------------------------------------------ results


def test_json_result(app: RieServer) -> None:
    res = app.invoke({"case": "dict"})
    assert res.status == 200, res
    assert res.json() == {"ok": True, "n": 1, "f": 1.5, "nested": {"list": [1, "two", None, False]}}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("str", "just a string"),
        ("empty_str", ""),
        ("none", None),
        ("int", 42),
        ("list", [1, 2, 3]),
    ],
)
def test_json_scalar_results(app: RieServer, case: str, expected: object) -> None:
    res = app.invoke({"case": case})
    assert res.status == 200, res
    assert res.json() == expected


def test_none_result_is_json_null(app: RieServer) -> None:
    # null, not an empty body: an empty body would not be JSON at all.
    res = app.invoke({"case": "none"})
    assert (res.status, res.body) == (200, b"null")


def test_bytes_result_is_sent_raw(app: RieServer) -> None:
    res = app.invoke({"case": "bytes"})
    assert res.status == 200, res
    assert res.body == b"\x00raw \xffbytes"


def test_event_is_passed_as_parsed_json(app: RieServer) -> None:
    event = {"case": "echo", "a": [1, 2.5, "x", None, True], "b": {"c": "caf\u00e9"}}
    res = app.invoke(event)
    assert res.status == 200, res
    assert res.json() == event


# ------------------------------------------------------------------ handler errors


def test_handler_exception(app: RieServer) -> None:
    message = "bad thing\nsecond line"
    mark = app.output_mark()
    res = app.invoke({"case": "raise", "message": message})
    # The classic RIE answers a handler error with 200 and the runtime's error JSON as the body.
    assert res.status == 200, res
    body = res.json()
    assert list(body) == ERROR_KEYS
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == message
    assert body["requestId"] == res.request_id
    # format_list entries from the handler's frame down, pointing at the handler file; nothing
    # from the runtime's own modules.
    assert body["stackTrace"] == expected_stack("app", "handler", {"case": "raise", "message": message}, None)
    assert all(f'File "{APP}"' in entry for entry in body["stackTrace"])
    assert body["stackTrace"][-1].startswith(f'  File "{APP}", line ')
    assert "in inner_failure\n    raise ValueError(message)" in body["stackTrace"][-1]
    # awslambdaric also logs the error: "[ERROR] <type>: <message>" then the traceback header.
    text = app.wait_output("[ERROR] ValueError: bad thing", mark)
    assert "[ERROR] ValueError: bad thing" in text, text


def test_runtime_keeps_serving_after_handler_exception(app: RieServer) -> None:
    before = app.invoke({"case": "pid"}).json()
    err = app.invoke({"case": "raise"})
    assert err.json()["errorType"] == "ValueError"
    after = app.invoke({"case": "pid"}).json()
    assert after["pid"] == before["pid"]
    assert after["invokes"] == before["invokes"] + 2


def test_unserializable_result_is_marshal_error(app: RieServer) -> None:
    res = app.invoke({"case": "unserializable"})
    assert res.status == 200, res
    body = res.json()
    assert list(body) == ERROR_KEYS
    assert body == {
        "errorMessage": "Unable to marshal response: Object of type Unserializable is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": res.request_id,
        "stackTrace": [],
    }


def test_invalid_json_event_is_unmarshal_error(app: RieServer) -> None:
    res = app.invoke(b"{not json")
    assert res.status == 200, res
    body = res.json()
    assert body["errorType"] == "Runtime.UnmarshalError"
    # simplejson's wording, as awslambdaric reports it.
    assert body["errorMessage"] == (
        "Unable to unmarshal input: Expecting property name enclosed in double quotes or '}': line 1 column 2 (char 1)"
    )
    assert body["requestId"] == res.request_id
    assert body["stackTrace"] == []


# ------------------------------------------------------------------ context


@pytest.fixture(scope="module")
def ctx_server(rie_pool: RiePool, runtime: str) -> RieServer:
    return rie_pool.shared(runtime, "app.describe_context", {"AWS_LAMBDA_FUNCTION_TIMEOUT": "30"})


CLIENT_CONTEXT = {
    "custom": {"k": "v", "n": 1},
    "env": {"platform": "Linux", "locale": "en_GB"},
    "client": {
        "installation_id": "inst-1",
        "app_title": "Title",
        "app_version_name": "1.0",
        "app_version_code": "100",
        "app_package_name": "com.example",
    },
}


def test_context_through_the_rie(ctx_server: RieServer) -> None:
    rid = "ctx-request-0001"
    res = ctx_server.invoke(
        {"any": "event"},
        request_id=rid,
        headers={"X-Amz-Client-Context": b64_json(CLIENT_CONTEXT), "X-Amz-Tenant-Id": "tenant-42"},
    )
    assert res.status == 200, res
    ctx = res.json()
    assert ctx["aws_request_id"] == rid
    # The RIE's fixed function identity.
    assert ctx["function_name"] == "test_function"
    assert ctx["function_version"] == "$LATEST"
    assert (ctx["memory_limit_in_mb"], ctx["memory_type"]) == ("3008", "str")
    assert ctx["invoked_function_arn"] == "arn:aws:lambda:us-east-1:012345678912:function:test_function"
    # Read from the environment the RIE gives the runtime (the RIE derives the group from its cwd).
    assert ctx["log_group_name"] == ctx["env_log_group_name"]
    assert ctx["log_group_name"].startswith("/aws/lambda/")
    assert ctx["log_stream_name"] == ctx["env_log_stream_name"]
    assert ctx["log_stream_name"]
    # Deadline = now + 30 s; a generous lower bound keeps this from being a timing test.
    assert ctx["remaining_type"] == "int"
    assert 15_000 < ctx["remaining_ms"] <= 30_000
    assert ctx["client_context"] == CLIENT_CONTEXT
    assert ctx["tenant_id"] == "tenant-42"
    assert ctx["identity"] == {"cognito_identity_id": None, "cognito_identity_pool_id": None}


def test_context_fields_do_not_leak_into_the_next_invoke(ctx_server: RieServer) -> None:
    first = ctx_server.invoke(
        {}, headers={"X-Amz-Client-Context": b64_json({"custom": {"a": 1}}), "X-Amz-Tenant-Id": "tenant-1"}
    )
    assert first.json()["tenant_id"] == "tenant-1"
    second = ctx_server.invoke({})
    ctx = second.json()
    assert ctx["aws_request_id"] == second.request_id != first.request_id
    assert ctx["client_context"] is None
    assert ctx["tenant_id"] is None
    assert ctx["pid"] == first.json()["pid"]


# ------------------------------------------------------------------ X-Ray trace id


def test_trace_id_absent_and_never_leaks(rie_pool: RiePool, runtime: str) -> None:
    # A stale value in the runtime's own environment, as if inherited: the runtime must clear it
    # because /next carries no Lambda-Runtime-Trace-Id (the classic RIE drops X-Amzn-Trace-Id).
    server = rie_pool.shared(runtime, "app.trace", {"_X_AMZN_TRACE_ID": "Root=1-stale-from-env"})
    header = {"X-Amzn-Trace-Id": "Root=1-5e1b4151-5ac6c58f5b5daa6532e4f5d1;Parent=53995c3f42cd8ad8;Sampled=1"}
    first = server.invoke({"set": "Root=1-set-by-the-handler"}, headers=header)
    assert first.status == 200, first
    assert first.json() == {"trace_id": None, "present": False}
    # The first handler dirtied os.environ; the next invoke must not see that value.
    second = server.invoke({})
    assert second.json() == {"trace_id": None, "present": False}
    third = server.invoke({}, headers=header)
    assert third.json() == {"trace_id": None, "present": False}


# ------------------------------------------------------------------ warm reuse


def test_warm_invokes_reuse_the_process(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.shared(runtime, "app.counter")
    seen = [server.invoke({}).json() for _ in range(4)]
    assert len({s["pid"] for s in seen}) == 1, seen
    assert len({s["boot"] for s in seen}) == 1, seen
    counts = [s["invokes"] for s in seen]
    assert counts == list(range(counts[0], counts[0] + 4)), counts


# ------------------------------------------------------------------ payload sizes


def test_one_megabyte_event_round_trips(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.shared(runtime, "app.echo")
    event = {"items": [{"i": i, "s": f"value-{i:07d}-caf\u00e9", "f": i / 7} for i in range(16_000)]}
    body = json.dumps(event).encode()
    assert 900_000 < len(body) < 1_300_000
    res = server.invoke(body)
    assert res.status == 200, res
    assert res.json() == event


def test_response_at_the_limit_passes(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.shared(runtime, "app.big")
    res = server.invoke({"size": SIX_MIB_LIMIT - 2}, timeout=120)  # + 2 quotes = exactly the limit
    assert res.status == 200, res.status
    assert len(res.body) == SIX_MIB_LIMIT
    assert res.body[:2] == b'"x' and res.body[-2:] == b'x"'


def test_oversized_response_is_refused(rie_pool: RiePool, runtime: str) -> None:
    server = rie_pool.shared(runtime, "app.big")
    res = server.invoke({"size": SIX_MIB_LIMIT}, timeout=120)
    # The status depends on the runtime: 200 if it goes on to /next, 502 if it exits on the 413
    # (awslambdaric does); the RIE's error body is the same either way.
    assert res.status in (200, 502), res
    assert res.json() == RESPONSE_TOO_LARGE
    # Whatever the runtime did with the 413, the function still answers.
    after = server.invoke({})
    assert after.status == 200, after
    assert after.json()["small"] is True


@pytest.mark.lambdaloop_only
def test_oversized_response_does_not_kill_the_runtime(rie_pool: RiePool, runtime: str) -> None:
    # awslambdaric exits on the 413 (a restart, a new cold start); lambdaloop keeps serving.
    server = rie_pool.fresh(runtime, "app.big")
    before = server.invoke({}).json()["pid"]
    res = server.invoke({"size": SIX_MIB_LIMIT + 1000}, timeout=120)
    assert (res.status, res.json()) == (200, RESPONSE_TOO_LARGE), res
    after = server.invoke({})
    assert after.status == 200, after
    assert after.json()["pid"] == before


def test_expected_stack_helper_sees_the_handler_file() -> None:
    # Guards the oracle used above: it must describe the file the runtime imports.
    module = load_function_module("app")
    assert module.__file__ == str(APP)


@pytest.mark.parametrize(
    "rid",
    ["id with spaces", "a?b#c%d", "caf\u00e9-\u00fc", "a:b@c;d=e"],
    ids=["spaces", "query-fragment-percent", "non-ascii", "sub-delims"],
)
@pytest.mark.lambdaloop_only
def test_request_ids_that_need_encoding_reach_the_invoker(ctx_server: RieServer, rid: str) -> None:
    """The RIE takes the request id from X-Amzn-RequestId, whatever it holds. lambdaloop
    percent-encodes it as one path segment, and the RIE decodes it back to the same id; a
    runtime that wrote it raw would post to another path or break the request line."""
    raw_header = rid.encode("utf-8").decode("latin-1")  # http.client sends header text as latin-1
    res = ctx_server.invoke({"any": "event"}, request_id=raw_header)
    assert res.status == 200, res
    assert res.json()["aws_request_id"] == rid
