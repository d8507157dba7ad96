"""``lambdaloop.asgi`` serving a real Starlette app through a real runtime process; the
event-to-request mapping as pure functions."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from lambdaloop.httpevents import UnsupportedEvent, parse_http_event

from .fakeapi import Post, event

HTTP_TYPE = "application/vnd.awslambda.http-integration-response"


def url_event(
    path: str,
    method: str = "GET",
    body: str | None = None,
    b64: bool = False,
    query: str = "",
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws", "user-agent": "t/1", "x-forwarded-proto": "https"},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.9"}},
        "isBase64Encoded": b64,
    }
    if body is not None:
        payload["body"] = body
    if cookies:
        payload["cookies"] = cookies
    return payload


def ev(request_id: str, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    return event(request_id, json.dumps(payload).encode())


def split(post: Post) -> tuple[dict[str, Any], bytes]:
    assert post.header("content-type") == HTTP_TYPE
    assert post.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    meta, sep, payload = post.body.partition(b"\x00" * 8)
    assert sep
    return json.loads(meta), payload


def test_whole_app_buffered_routes_request_mapping_and_cookies(start) -> None:
    echo = url_event("/echo", "POST", base64.b64encode(b"\x00hi").decode(), True, "a=1&b=2", ["c=1", "d=2"])
    api, _ = start([ev("r1", url_event("/")), ev("r2", echo), ev("r3", url_event("/empty"))], "asgiapp.handler")
    meta, payload = split(api.wait_post())
    assert meta["statusCode"] == 200 and payload == b"hello"
    assert meta["headers"]["content-type"] == "text/plain; charset=utf-8"
    meta, payload = split(api.wait_post())
    assert meta["statusCode"] == 201
    assert meta["cookies"] == ["seen=1; Path=/; SameSite=lax", "other=2; Path=/; SameSite=lax"]
    assert "set-cookie" not in meta["headers"]
    assert json.loads(payload) == {
        "method": "POST",
        "path": "/echo",
        "query": {"a": "1", "b": "2"},
        "body": "\x00hi",
        "cookies": {"c": "1", "d": "2"},
        "ua": "t/1",
        "client": "203.0.113.9",
    }
    meta, payload = split(api.wait_post())
    assert meta == {"statusCode": 204, "headers": {"x-empty": "1"}, "cookies": []} and payload == b""


def test_server_sent_events_stream_before_the_app_finishes(start, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    api, _ = start([ev("r1", url_event("/sse", query=f"gate={gate}"))], "asgiapp.handler")
    # Prelude first (Starlette sends start, then each event as its own body message).
    _, prelude = api.chunk_log.get(timeout=15)
    assert json.loads(prelude[:-8])["headers"]["content-type"] == "text/event-stream; charset=utf-8"
    _, first = api.chunk_log.get(timeout=10)
    assert first == b"data: first\n\n"
    assert api.posts.empty()  # the app is still waiting on the gate
    gate.touch()
    post = api.wait_post()
    assert split(post)[1] == b"data: first\n\ndata: 0\n\ndata: 1\n\n" and post.trailers == {}


def test_lifespan_once_per_process_and_one_persistent_loop(start) -> None:
    api, _ = start([ev("r1", url_event("/state")), ev("r2", url_event("/state"))], "asgiapp.handler")
    first, second = (json.loads(split(api.wait_post())[1]) for _ in range(2))
    assert first == {"startups": 1, "state": 1, "loops": 1}
    assert second == {"startups": 1, "state": 1, "loops": 1}


def test_stream_failing_midway_ends_with_trailers(start) -> None:
    api, _ = start([ev("r1", url_event("/broken"))], "asgiapp.handler")
    post = api.wait_post()
    assert split(post)[1] == b"partial"
    assert post.trailers["Lambda-Runtime-Function-Error-Type"] == "RuntimeError"
    error = json.loads(base64.b64decode(post.trailers["Lambda-Runtime-Function-Error-Body"]))
    assert error["errorMessage"] == "stream source failed"


def test_app_exception_is_a_500_for_the_client_and_an_error_in_the_log(start) -> None:
    # Starlette answers 500 and re-raises for the server to log, as uvicorn would.
    api, runtime = start([ev("r1", url_event("/boom")), ev("r2", url_event("/"))], "asgiapp.handler")
    meta, payload = split(api.wait_post())
    assert meta["statusCode"] == 500 and payload == b"Internal Server Error"
    assert split(api.wait_post())[1] == b"hello"
    assert "ZeroDivisionError: handler bug" in runtime.stop()


def test_response_ends_before_background_tasks_run(start) -> None:
    api, _ = start([ev("r1", url_event("/background"))], "asgiapp.handler")
    api.chunk_log.get(timeout=15)  # the prelude
    _, body = api.chunk_log.get(timeout=5)
    assert body == b"sent before the task"
    post = api.wait_post(timeout=0.25)  # complete while the 0.3 s background task still runs
    assert post.trailers == {}


@pytest.mark.parametrize("payload", [{"foo": 1}, [1, 2], {"version": "2.0", "requestContext": {}}])
def test_unknown_event_is_a_clear_error_not_a_crash(start, payload: Any) -> None:
    api, _ = start([ev("r1", payload), ev("r2", url_event("/"))], "asgiapp.handler")
    post = api.wait_post()
    assert post.path.endswith("/r1/error")
    body = json.loads(post.body)
    assert body["errorType"] == "UnsupportedEvent" and "expected an HTTP event" in body["errorMessage"]
    assert split(api.wait_post())[1] == b"hello"  # the next request is served


# -- events to requests, pure --------------------------------------------------------------------


def test_v2_event_mapping() -> None:
    request = parse_http_event(url_event("/a%20b", "post", "x", query="q=1", cookies=["a=1"]))
    assert request.method == "POST" and request.path == "/a b" and request.raw_path == "/a%20b"
    assert request.query_string == b"q=1" and request.body == b"x"
    assert (b"cookie", b"a=1") in request.headers
    assert request.scheme == "https" and request.server == ("abc.lambda-url.us-east-1.on.aws", 443)
    assert request.client == ("203.0.113.9", 0)


def test_v1_rest_event_mapping_with_multi_values() -> None:
    v1 = {
        "httpMethod": "GET",
        "path": "/items/a b",
        "multiValueQueryStringParameters": {"x": ["1", "2"]},
        "multiValueHeaders": {"Accept": ["a", "b"], "Host": ["api.example.com"]},
        "requestContext": {"identity": {"sourceIp": "198.51.100.1"}},
        "body": None,
    }
    request = parse_http_event(v1)
    assert request.path == "/items/a b" and request.raw_path == "/items/a%20b"
    assert request.query_string == b"x=1&x=2"
    assert request.headers[:2] == [(b"accept", b"a"), (b"accept", b"b")]
    assert request.client == ("198.51.100.1", 0) and request.body == b""


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "text",
        {"httpMethod": 5},
        {"version": "2.0", "requestContext": {"http": "x"}},
        {"detail-type": "Scheduled"},
    ],
)
def test_unknown_shapes_raise_unsupported_event(bad: Any) -> None:
    with pytest.raises(UnsupportedEvent, match="expected an HTTP event"):
        parse_http_event(bad)


def test_bad_base64_body_is_unsupported_event() -> None:
    with pytest.raises(UnsupportedEvent, match="not base64"):
        parse_http_event(url_event("/", body="!!!", b64=True))


def rest_event(path: str, method: str = "GET") -> dict[str, Any]:
    return {
        "httpMethod": method,
        "path": path,
        "headers": {"Host": "api.example.com", "User-Agent": "t/1"},
        "multiValueHeaders": {"Host": ["api.example.com"], "User-Agent": ["t/1"]},
        "queryStringParameters": None,
        "requestContext": {"identity": {"sourceIp": "203.0.113.9"}},
        "body": None,
        "isBase64Encoded": False,
    }


def test_buffered_mode_answers_with_proxy_responses(start) -> None:
    events = [ev("r1", url_event("/echo", "POST", "hi")), ev("r2", rest_event("/echo", "POST"))]
    events.append(ev("r3", url_event("/")))
    api, _ = start(events, "asgiapp.buffered_handler")
    first, second, third = api.wait_post(), api.wait_post(), api.wait_post()
    for post in (first, second, third):
        assert post.header("Lambda-Runtime-Function-Response-Mode") is None  # not streamed
        assert post.header("content-type") == "application/json"
    v2 = json.loads(first.body)
    assert v2["statusCode"] == 201 and v2["isBase64Encoded"] is False
    assert v2["cookies"] == ["seen=1; Path=/; SameSite=lax", "other=2; Path=/; SameSite=lax"]
    assert v2["headers"]["content-type"] == "application/json" and "set-cookie" not in v2["headers"]
    assert json.loads(v2["body"])["body"] == "hi"
    v1 = json.loads(second.body)
    assert v1["statusCode"] == 201 and "cookies" not in v1
    assert v1["multiValueHeaders"]["set-cookie"] == v2["cookies"]  # REST keeps cookies as headers
    assert json.loads(v1["body"])["path"] == "/echo"
    assert json.loads(third.body)["body"] == "hello"


def test_buffered_mode_base64_for_binary_bodies() -> None:
    from lambdaloop.asgi import _CollectedResponse

    collected = _CollectedResponse()
    collected.start_http_response(200, [(b"content-type", b"image/png"), (b"x-a", b"1"), (b"x-a", b"2")])
    collected.write(b"\x89PNG")
    answer = collected.proxy_response(v2=True)
    assert answer["isBase64Encoded"] is True and base64.b64decode(answer["body"]) == b"\x89PNG"
    assert answer["headers"]["x-a"] == "1, 2"
    rest = collected.proxy_response(v2=False)
    assert rest["multiValueHeaders"]["x-a"] == ["1", "2"] and rest["headers"]["x-a"] == "2"
