"""The emulator's other pure parts: routes, answers, reports, headers, validation."""

from __future__ import annotations

import base64
import json

import pytest

from lambdaloop.emulator import extensions, http, outcome, report, routes, telemetry
from lambdaloop.emulator.invocation import (
    BadInvoke,
    InvokeRequest,
    decode_error_trailer,
    invoke_request,
    next_headers,
    strip_error_cause,
)
from lambdaloop.emulator.process import exit_reason


def test_runtime_routes() -> None:
    assert routes.runtime_route("GET", "/2018-06-01/runtime/invocation/next") == routes.Route("next")
    assert routes.runtime_route("POST", "/2018-06-01/runtime/invocation/abc-1/response") == routes.Route(
        "response", "abc-1"
    )
    assert routes.runtime_route("POST", "/2018-06-01/runtime/invocation/a%20b/error") == routes.Route("error", "a b")
    assert routes.runtime_route("POST", "/2018-06-01/runtime/invocation/a/b/response") is None
    assert routes.runtime_route("GET", "/2018-06-01/runtime/invocation/x/response") is None
    assert routes.runtime_route("PUT", "/2022-07-01/telemetry") == routes.Route("telemetry_subscribe")
    assert routes.invoke_route("GET", routes.INVOKE_PATH) == routes.Route("invoke")
    assert routes.invoke_route("POST", "/2015-03-31/functions/other/invocations") is None


def test_invoke_answers_mirror_the_rie() -> None:
    status, headers, body = outcome.invoke_answer(outcome.timeout(2.0))
    assert (status, body) == (200, b"Task timed out after 2.00 seconds")
    assert ("Content-Type", "text/plain; charset=utf-8") in headers
    status, _, body = outcome.invoke_answer(outcome.exit_error("rid", "exit status 7"))
    assert status == 502
    assert json.loads(body) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: rid Error: Runtime exited with error: exit status 7",
    }
    assert body.startswith(b'{"errorType":"Runtime.ExitError","errorMessage":"RequestId: rid')
    assert outcome.response_too_large(runtime_alive=False).status == 502
    assert outcome.response_too_large(runtime_alive=True).status == 200
    status, headers, _ = outcome.invoke_answer(outcome.success(b"{}", "application/json"))
    assert status == 200 and (outcome.ERROR_HEADER, "Unhandled") not in headers
    assert outcome.function_error(b'{"errorType": "KeyError"}', None).error_type == "KeyError"


def test_exit_reasons_use_go_wording() -> None:
    assert exit_reason(7) == "exit status 7"
    assert exit_reason(-9) == "signal: killed"
    assert exit_reason(-11) == "signal: segmentation fault"


def test_report_line_format() -> None:
    line = report.report_line("rid", 1.234, 128, 20, init_duration_ms=40.5)
    assert line == (
        "REPORT RequestId: rid\tInit Duration: 40.50 ms\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 20 MB\t"
    )
    assert report.report_line("rid", 3.0, 128, 20, status="timeout").endswith("\tStatus: timeout\t")
    assert report.billed_ms(0.0) == 1
    assert report.parse_hwm_kib("Name:\tpython\nVmHWM:\t   14336 kB\nVmRSS:\t1 kB\n") == 14336
    assert report.start_line("rid", "$LATEST") == "START RequestId: rid Version: $LATEST"


def test_invoke_request_reads_the_rie_headers_and_the_trace_id() -> None:
    headers = http.Headers(
        [
            ("X-Amzn-RequestId", "rid"),
            ("X-Amz-Client-Context", base64.b64encode(b'{"custom":{"a":1}}').decode()),
            ("X-Amzn-Trace-Id", "Root=1-x"),
            ("X-Amz-Tenant-Id", "t"),
            ("X-Amz-Cognito-Identity", '{"cognitoIdentityId":"id"}'),
        ]
    )
    request = invoke_request(b"{}", headers)
    assert request == InvokeRequest(b"{}", "rid", "Root=1-x", '{"custom":{"a":1}}', '{"cognitoIdentityId":"id"}', "t")
    with pytest.raises(BadInvoke):
        invoke_request(b"{}", http.Headers([("X-Amz-Client-Context", "not base64!")]))
    assert len(invoke_request(b"", http.Headers()).request_id) == 36


def test_next_headers_are_sorted_and_only_non_empty() -> None:
    request = InvokeRequest(b"", "rid", trace_id="Root=1-x")
    headers = next_headers(request, "inv", 123, "arn:x")
    assert headers == [
        ("Content-Type", "application/json"),
        ("Lambda-Runtime-Aws-Request-Id", "rid"),
        ("Lambda-Runtime-Deadline-Ms", "123"),
        ("Lambda-Runtime-Invocation-Id", "inv"),
        ("Lambda-Runtime-Invoked-Function-Arn", "arn:x"),
        ("Lambda-Runtime-Trace-Id", "Root=1-x"),
    ]


def test_error_trailer_and_error_cause() -> None:
    body = json.dumps({"errorMessage": "m", "errorType": "T"}).encode()
    assert decode_error_trailer("T", base64.b64encode(body).decode()) == body
    assert json.loads(decode_error_trailer("T", "%%%")) == {"errorMessage": "", "errorType": "T"}
    with_cause = json.dumps({"errorMessage": "m", "errorType": "T", "errorCause": {"x": 1}}).encode()
    stripped = strip_error_cause(with_cause, "application/vnd.aws.lambda.error.cause+json")
    assert json.loads(stripped) == {"errorMessage": "m", "errorType": "T"}
    assert strip_error_cause(with_cause, "application/json") == with_cause


def test_extension_registration_rules() -> None:
    check = extensions.check_registration
    assert check("ext", ["INVOKE", "SHUTDOWN"], [], ["ext"], False) == (frozenset({"INVOKE", "SHUTDOWN"}), False)
    assert check("inner", ["INVOKE"], [], ["ext"], False) == (frozenset({"INVOKE"}), True)
    refusals = [
        (("inner", ["SHUTDOWN"], [], ["ext"], False), "Extension.InvalidEventType"),
        (("ext", ["BOGUS"], [], ["ext"], False), "Extension.InvalidEventType"),
        (("ext", [], [], ["ext"], True), "Extension.RegistrationClosed"),
        (("", [], [], [], False), "Extension.InvalidExtensionName"),
        (("ext", [], ["ext"], ["ext"], False), "Extension.InvalidExtensionState"),
        (("new", [], [f"e{i}" for i in range(10)], [], False), "Extension.TooManyExtensions"),
    ]
    for args, error_type in refusals:
        with pytest.raises(extensions.RegistrationRefused) as info:
            check(*args)
        assert info.value.error_type == error_type


def test_registry_waits_for_every_extension() -> None:
    registry = extensions.Registry(["ext"])
    assert registry.all_waiting()
    first = registry.register("ext", ["INVOKE"])
    assert not registry.all_waiting()
    first.waiting = True
    assert registry.all_waiting()
    assert registry.broadcast("SHUTDOWN", {}) == []
    assert registry.broadcast("INVOKE", {"eventType": "INVOKE"}) == [first]


def _subscription(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "schemaVersion": "2022-12-13",
        "types": ["platform", "function"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 100},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/lambda"},
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def test_telemetry_subscription_validation() -> None:
    sub = telemetry.parse_subscription(_subscription())
    assert (sub.host, sub.port, sub.path, sub.timeout_ms) == ("127.0.0.1", 8080, "/lambda", 100)
    bad = [
        _subscription(schemaVersion="1999-01-01"),
        _subscription(types=["nope"]),
        _subscription(buffering={"timeoutMs": 5}),
        _subscription(destination={"protocol": "TCP", "port": 9999}),
        _subscription(destination={"protocol": "HTTP", "URI": "http://example.com:8080/"}),
        _subscription(destination={"protocol": "HTTP", "URI": "http://sandbox:9001/"}),
        b"not json",
    ]
    for body in bad:
        with pytest.raises(telemetry.SubscriptionError):
            telemetry.parse_subscription(body)
    assert telemetry.category("platform.report") == "platform"
    assert telemetry.category("function") == "function"


def test_platform_record_shapes() -> None:
    from lambdaloop.emulator import records

    done = records.runtime_done("rid", "error", 1.23456, 10, "ValueError", "Root=1-x")
    assert done == {
        "requestId": "rid",
        "status": "error",
        "metrics": {"durationMs": 1.235, "producedBytes": 10},
        "errorType": "ValueError",
        "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-x"},
    }
    report_record = records.report("rid", "success", 0.4, 128, 20, 40.0, None, None)
    assert report_record == {
        "requestId": "rid",
        "status": "success",
        "metrics": {
            "durationMs": 0.4,
            "billedDurationMs": 1,
            "memorySizeMB": 128,
            "maxMemoryUsedMB": 20,
            "initDurationMs": 40.0,
        },
    }
    assert records.init_report("error", 5.0, "Runtime.ExitError")["errorType"] == "Runtime.ExitError"
    assert "errorType" not in records.init_runtime_done("success")
