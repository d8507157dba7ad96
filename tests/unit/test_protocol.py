"""The sans-IO Runtime API core: /next answers in, request bytes out."""

from __future__ import annotations

import pytest

from lambdaloop import protocol

GOOD_HEADERS = {
    "lambda-runtime-aws-request-id": "rid-1",
    "lambda-runtime-deadline-ms": "1700000000123",
    "lambda-runtime-invoked-function-arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
    "lambda-runtime-trace-id": "Root=1-abc;Parent=def;Sampled=1",
    "lambda-runtime-client-context": '{"custom":{"a":1}}',
    "lambda-runtime-cognito-identity": '{"cognitoIdentityId":"id"}',
    "lambda-runtime-aws-tenant-id": "tenant-A",
    "lambda-runtime-invocation-id": "inv-9",
    "content-type": "application/json",
}


def test_parse_next_reads_every_header() -> None:
    inv = protocol.parse_next(200, GOOD_HEADERS, b'{"x":1}')
    assert inv.request_id == "rid-1"
    assert inv.deadline_ms == 1700000000123
    assert inv.invoked_function_arn.endswith(":function:f")
    assert inv.trace_id == "Root=1-abc;Parent=def;Sampled=1"
    assert inv.client_context == '{"custom":{"a":1}}'
    assert inv.cognito_identity == '{"cognitoIdentityId":"id"}'
    assert inv.tenant_id == "tenant-A"
    assert inv.invocation_id == "inv-9"
    assert inv.content_type == "application/json"
    assert inv.body == b'{"x":1}'
    assert inv.warnings == ()


def test_optional_headers_absent_or_empty_are_none_and_arn_is_empty_string() -> None:
    headers = {"lambda-runtime-aws-request-id": "r", "lambda-runtime-deadline-ms": "5", "content-type": "x/y"}
    headers["lambda-runtime-trace-id"] = ""
    inv = protocol.parse_next(200, headers, b"")
    assert inv.trace_id is None and inv.client_context is None and inv.tenant_id is None
    assert inv.invocation_id is None and inv.cognito_identity is None
    assert inv.invoked_function_arn == ""  # awslambdaric gives "" here, not None


@pytest.mark.parametrize("value", ["0", "", "soon", "-5", "12.5"])
def test_bad_deadline_is_a_warning_not_a_crash(value: str) -> None:
    # awslambdaric aborts (SIGABRT) on Deadline-Ms: 0 and on garbage.
    headers = dict(GOOD_HEADERS, **{"lambda-runtime-deadline-ms": value})
    inv = protocol.parse_next(200, headers, b"{}")
    assert inv.deadline_ms == 0
    assert len(inv.warnings) == 1 and "lambda-runtime-deadline-ms" in inv.warnings[0]


def test_missing_content_type_means_json_with_a_warning() -> None:
    # awslambdaric segfaults on a missing Content-Type.
    headers = {k: v for k, v in GOOD_HEADERS.items() if k != "content-type"}
    inv = protocol.parse_next(200, headers, b"{}")
    assert inv.content_type == "application/json"
    assert any("Content-Type" in w for w in inv.warnings)


def test_missing_request_id_or_bad_status_is_a_protocol_error() -> None:
    headers = {k: v for k, v in GOOD_HEADERS.items() if k != "lambda-runtime-aws-request-id"}
    with pytest.raises(protocol.ProtocolError, match="request-id"):
        protocol.parse_next(200, headers, b"{}")
    with pytest.raises(protocol.ProtocolError, match="HTTP 500"):
        protocol.parse_next(500, GOOD_HEADERS, b"oops")


def test_next_request_bytes() -> None:
    assert protocol.next_request("127.0.0.1:9001", "ua/1") == (
        b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nAccept: */*\r\n"
        b"User-Agent: ua/1\r\n\r\n"
    )


def test_response_request_matches_awslambdarics_header_order() -> None:
    body = b'{"a": 1}'
    data = protocol.response_head("h:1", "ua", "rid-2", len(body), "application/json", "inv-1") + body
    assert data == (
        b"POST /2018-06-01/runtime/invocation/rid-2/response HTTP/1.1\r\nHost: h:1\r\nAccept: */*\r\n"
        b"content-type: application/json\r\nUser-Agent: ua\r\nlambda-runtime-invocation-id: inv-1\r\n"
        b'content-length: 8\r\n\r\n{"a": 1}'
    )
    without_id = protocol.response_head("h:1", "ua", "rid-2", 1, "application/unknown", None) + b"x"
    assert b"invocation-id" not in without_id and b"content-type: application/unknown" in without_id


def test_error_request_carries_type_and_cause_and_drops_huge_cause() -> None:
    data = protocol.error_request("h:1", "ua", "rid", b"{}", "ValueError", '{"c": 1}', None)
    head = data.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert head[4] == b'lambda-runtime-function-xray-error-cause: {"c": 1}'
    assert b"Lambda-Runtime-Function-Error-Type: ValueError" in head
    big = protocol.error_request("h:1", "ua", "rid", b"{}", "E", "x" * protocol.XRAY_CAUSE_LIMIT, None)
    assert b"xray-error-cause" not in big


def test_error_type_header_stays_one_latin1_line() -> None:
    data = protocol.error_request("h:1", "ua", "rid", b"{}", "Fehl\u00e9r\u4e2d\nX", "", None)
    assert b"Lambda-Runtime-Function-Error-Type: Fehl?r??X\r\n" in data


def test_init_error_request() -> None:
    data = protocol.init_error_request("h:1", "ua", b'{"e": 1}', "Runtime.ImportModuleError")
    assert data.startswith(b"POST /2018-06-01/runtime/init/error HTTP/1.1\r\n")
    assert b"Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError\r\n" in data
    assert data.endswith(b'content-length: 8\r\n\r\n{"e": 1}')


@pytest.mark.parametrize(
    ("status", "ok", "fragment"),
    [(202, True, ""), (410, False, "stale"), (413, False, "HTTP 413"), (500, False, "HTTP 500")],
)
def test_judge_post(status: int, ok: bool, fragment: str) -> None:
    outcome = protocol.judge_post(status, b"body", "/response for r")
    assert outcome.ok is ok
    assert fragment in outcome.message
