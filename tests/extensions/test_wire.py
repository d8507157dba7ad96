"""The sans-IO parts: Extensions API bytes, Telemetry API subscription and records, the
listener's request parser. Plain bytes in and out, no sockets."""

from __future__ import annotations

import json

import pytest

from lambdaloop.extensions import events, listener, telemetry, wire
from lambdaloop.extensions.events import ExtensionAPIError, InvokeEvent, ShutdownEvent, Tracing


def split(request: bytes) -> tuple[list[str], bytes]:
    head, body = request.split(b"\r\n\r\n", 1)
    return head.decode("latin-1").split("\r\n"), body


# -- register ------------------------------------------------------------------------------


def test_register_request_bytes() -> None:
    request = wire.register_request("127.0.0.1:9001", "my-ext", ["INVOKE", "SHUTDOWN"], "ua/1", ["accountId"])
    lines, body = split(request)
    assert lines[0] == "POST /2020-01-01/extension/register HTTP/1.1"
    assert "Host: 127.0.0.1:9001" in lines
    assert "Lambda-Extension-Name: my-ext" in lines
    assert "Lambda-Extension-Accept-Feature: accountId" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert json.loads(body) == {"events": ["INVOKE", "SHUTDOWN"]}


def test_register_request_without_events_or_features() -> None:
    lines, body = split(wire.register_request("h:1", "lambdaloop-sigterm", (), "ua"))
    assert json.loads(body) == {"events": []}  # a list, never null: RAPID wants a list
    assert not any(line.startswith("Lambda-Extension-Accept-Feature") for line in lines)


def test_register_request_drops_duplicate_events() -> None:
    _, body = split(wire.register_request("h:1", "x", ["INVOKE", "INVOKE"], "ua"))
    assert json.loads(body) == {"events": ["INVOKE"]}


@pytest.mark.parametrize("name", ["", "a/b", "tab\there", "é", "x" * 300, "line\r\nX-Injected: 1"])
def test_bad_names_are_refused_before_any_call(name: str) -> None:
    with pytest.raises(ValueError):
        wire.register_request("h:1", name, ["INVOKE"], "ua")


@pytest.mark.parametrize("bad", [["invoke"], ["INVOKE", "START"], ["Shutdown"]])
def test_unknown_event_types_are_refused(bad: list[str]) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        wire.register_request("h:1", "x", bad, "ua")


def test_parse_register_success_with_account_id() -> None:
    body = b'{"functionName":"f","functionVersion":"$LATEST","handler":"app.h","accountId":"123456789012"}'
    reg = wire.parse_register(200, {"lambda-extension-identifier": "id-1"}, body)
    assert reg == events.Registration("id-1", "f", "$LATEST", "app.h", "123456789012")


def test_parse_register_without_account_id() -> None:
    reg = wire.parse_register(200, {"lambda-extension-identifier": "id-1"}, b'{"functionName":"f"}')
    assert reg.account_id is None and reg.function_name == "f" and reg.handler == ""


def test_parse_register_refusal_carries_the_error_type() -> None:
    body = b'{"errorMessage":"ShutdownEventNotSupportedForInternalExtension","errorType":"Extension.InvalidEventType"}'
    with pytest.raises(ExtensionAPIError) as info:
        wire.parse_register(403, {}, body)
    assert info.value.status == 403
    assert info.value.error_type == "Extension.InvalidEventType"
    assert "ShutdownEventNotSupported" in info.value.message


def test_parse_register_without_identifier_is_an_error() -> None:
    with pytest.raises(ExtensionAPIError, match="Lambda-Extension-Identifier"):
        wire.extension_id_of(200, {}, b"{}")


# -- events ----------------------------------------------------------------------------------


def test_parse_invoke_event() -> None:
    body = json.dumps(
        {
            "eventType": "INVOKE",
            "deadlineMs": 1700000000000,
            "requestId": "r-1",
            "invokedFunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
            "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-a;Sampled=1"},
        }
    ).encode()
    event = wire.parse_event(200, {"lambda-extension-event-identifier": "e-1"}, body)
    assert event == InvokeEvent(
        "r-1",
        1700000000000,
        "arn:aws:lambda:us-east-1:1:function:f",
        Tracing("X-Amzn-Trace-Id", "Root=1-a;Sampled=1"),
        "e-1",
    )
    assert event.remaining_ms() == 0  # long past


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("SPINDOWN", "spindown"),
        ("spindown", "spindown"),
        ("Timeout", "timeout"),
        ("SandboxTerminated", "sandboxterminated"),
    ],
)
def test_parse_shutdown_reason_case_insensitively(raw: str, reason: str) -> None:
    body = json.dumps({"eventType": "SHUTDOWN", "shutdownReason": raw, "deadlineMs": 42}).encode()
    event = wire.parse_event(200, {}, body)
    assert isinstance(event, ShutdownEvent)
    assert (event.reason, event.raw_reason, event.deadline_ms) == (reason, raw, 42)


def test_invoke_event_without_tracing_or_deadline() -> None:
    event = wire.parse_event(200, {}, b'{"eventType":"invoke","requestId":"r"}')
    assert isinstance(event, InvokeEvent)
    assert event.tracing is None and event.deadline_ms == 0


@pytest.mark.parametrize("body", [b'{"eventType":"RESTORE"}', b"[]", b"not json"])
def test_unknown_or_malformed_events_are_value_errors(body: bytes) -> None:
    with pytest.raises(ValueError):
        wire.parse_event(200, {}, body)


def test_event_next_refusal() -> None:
    with pytest.raises(ExtensionAPIError) as info:
        wire.parse_event(500, {}, b'{"errorType":"Extension.Exit","errorMessage":"bye"}')
    assert (info.value.status, info.value.error_type) == (500, "Extension.Exit")


def test_event_next_request_carries_the_identifier() -> None:
    lines, body = split(wire.event_next_request("h:1", "id-9", "ua"))
    assert lines[0] == "GET /2020-01-01/extension/event/next HTTP/1.1"
    assert "Lambda-Extension-Identifier: id-9" in lines and body == b""


def test_error_request_prefixes_the_type_and_sends_the_body() -> None:
    request = wire.error_request("h:1", "id", "ua", wire.EXIT_ERROR_PATH, "Crashed", "boom", ["frame 1"])
    lines, body = split(request)
    assert lines[0] == "POST /2020-01-01/extension/exit/error HTTP/1.1"
    assert "Lambda-Extension-Function-Error-Type: Extension.Crashed" in lines
    assert json.loads(body) == {"errorMessage": "boom", "errorType": "Extension.Crashed", "stackTrace": ["frame 1"]}


# -- telemetry subscription ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_items": 999},
        {"max_items": 10_001},
        {"max_bytes": 262_143},
        {"max_bytes": 1_048_577},
        {"timeout_ms": 24},
        {"timeout_ms": 30_001},
        {"timeout_ms": True},
        {"max_items": 1000.0},
    ],
)
def test_buffering_out_of_range(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        telemetry.Buffering(**kwargs)  # type: ignore[arg-type]


def test_buffering_bounds_are_inclusive() -> None:
    low = telemetry.Buffering(1_000, 262_144, 25)
    high = telemetry.Buffering(10_000, 1_048_576, 30_000)
    assert low.as_json() == {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25}
    assert high.as_json() == {"maxItems": 10000, "maxBytes": 1048576, "timeoutMs": 30000}


@pytest.mark.parametrize("types", [[], ["platform", "logs"], "platform"])
def test_bad_types(types: object) -> None:
    with pytest.raises(ValueError):
        telemetry.check_types(types)  # type: ignore[arg-type]


@pytest.mark.parametrize("port", [0, 9001, 70000])
def test_bad_listener_ports(port: int) -> None:
    with pytest.raises(ValueError):
        telemetry.destination_uri(port)


def test_subscribe_request() -> None:
    body = telemetry.subscribe_body(["platform", "function"], telemetry.Buffering(), telemetry.destination_uri(4243))
    lines, sent = split(telemetry.subscribe_request("h:1", "id-1", "ua", body))
    assert lines[0] == "PUT /2022-07-01/telemetry HTTP/1.1"
    assert "Lambda-Extension-Identifier: id-1" in lines
    assert json.loads(sent) == {
        "schemaVersion": "2022-12-13",
        "types": ["platform", "function"],
        "buffering": {"maxItems": 10000, "maxBytes": 262144, "timeoutMs": 1000},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/"},
    }


def test_subscribe_answers() -> None:
    telemetry.check_subscribe_answer(200, b"OK")
    # The classic RIE: 202 with an error body. Not a success.
    with pytest.raises(ExtensionAPIError) as info:
        telemetry.check_subscribe_answer(
            202, b'{"errorMessage":"Telemetry API is not supported","errorType":"Telemetry.NotSupported"}'
        )
    assert info.value.error_type == "Telemetry.NotSupported"
    with pytest.raises(ExtensionAPIError):
        telemetry.check_subscribe_answer(400, b'{"errorType":"ValidationError","errorMessage":"schema"}')


# -- telemetry records -----------------------------------------------------------------------

BATCH = [
    {"time": "2026-01-01T00:00:00.000Z", "type": "platform.start", "record": {"requestId": "r1", "version": "$LATEST"}},
    {"time": "t2", "type": "function", "record": "hello\n"},
    {"time": "t3", "type": "function", "record": {"level": "INFO", "message": "json log"}},
    {"time": "t4", "type": "extension", "record": "ext line"},
    {
        "time": "t5",
        "type": "platform.runtimeDone",
        "record": {
            "requestId": "r1",
            "status": "error",
            "errorType": "Runtime.Unknown",
            "metrics": {"durationMs": 3.5},
        },
    },
    {
        "time": "t6",
        "type": "platform.report",
        "record": {
            "requestId": "r1",
            "status": "success",
            "metrics": {
                "durationMs": 3.21,
                "billedDurationMs": 4,
                "memorySizeMB": 128,
                "maxMemoryUsedMB": 41,
                "initDurationMs": 80.5,
            },
        },
    },
    {"time": "t7", "type": "platform.extension", "record": {"name": "x", "state": "Ready", "events": ["INVOKE"]}},
    {"time": "t8", "type": "platform.somethingNew", "record": {"a": 1}},
    "not an object",
]


def test_parse_batch_types_every_record() -> None:
    records = telemetry.parse_batch(json.dumps(BATCH).encode())
    assert [type(r).__name__ for r in records] == [
        "PlatformStart", "FunctionLog", "FunctionLog", "ExtensionLog", "PlatformRuntimeDone", "PlatformReport",
        "PlatformExtension", "TelemetryRecord",
    ]  # fmt: skip
    start, text, structured, ext_log, done, report, extension, unknown = records
    assert (start.request_id, start.version, start.time) == ("r1", "$LATEST", "2026-01-01T00:00:00.000Z")
    assert text.message == "hello\n" and structured.message == {"level": "INFO", "message": "json log"}
    assert ext_log.message == "ext line"
    assert (done.status, done.error_type, done.metrics) == ("error", "Runtime.Unknown", {"durationMs": 3.5})
    metrics = report.report_metrics
    assert (metrics.duration_ms, metrics.billed_duration_ms, metrics.memory_size_mb) == (3.21, 4, 128)
    assert (metrics.max_memory_used_mb, metrics.init_duration_ms, metrics.restore_duration_ms) == (41, 80.5, None)
    assert extension.name == "x" and extension.events == ["INVOKE"]
    assert unknown.type == "platform.somethingNew" and unknown.record == {"a": 1}


def test_parse_batch_refuses_a_non_array() -> None:
    with pytest.raises(ValueError):
        telemetry.parse_batch(b'{"type":"function"}')


# -- the listener's request parser -----------------------------------------------------------


def post(body: bytes, chunked: bool = False) -> bytes:
    if chunked:
        middle = len(body) // 2
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:middle], body[middle:]) if part)
        return b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    return b"POST /t HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.parametrize("chunked", [False, True])
def test_parse_request_byte_by_byte_then_pipelined(chunked: bool) -> None:
    data = post(b"[1,2,3]", chunked) + post(b"[4]", chunked)
    buffer = bytearray()
    got = []
    for i in range(len(data)):
        buffer += data[i : i + 1]
        request = listener.parse_request(buffer)
        if request is not None:
            got.append((request.method, request.path, request.body))
    assert got == [("POST", "/t", b"[1,2,3]"), ("POST", "/t", b"[4]")]
    assert buffer == b""


def test_parse_request_limits() -> None:
    with pytest.raises(listener.BadRequest) as info:
        listener.parse_request(bytearray(post(b"x" * 100)), limit=10)
    assert info.value.too_large
    with pytest.raises(listener.BadRequest) as info:
        listener.parse_request(bytearray(post(b"x" * 100, chunked=True)), limit=10)
    assert info.value.too_large
    with pytest.raises(listener.BadRequest):
        listener.parse_request(bytearray(b"GARBAGE\r\n\r\n"))
    with pytest.raises(listener.BadRequest):
        listener.parse_request(bytearray(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"))


def test_listen_host_reads_hosts_not_dns() -> None:
    hosts = "127.0.0.1 localhost\n# 10.0.0.1 sandbox.localdomain\n169.254.100.1 sandbox.localdomain sandbox\n"
    assert listener.listen_host(hosts) == "169.254.100.1"
    assert listener.listen_host("127.0.0.1 localhost\n") == "127.0.0.1"
    assert listener.listen_host("::1 sandbox.localdomain\n") == "127.0.0.1"  # we bind IPv4 only
