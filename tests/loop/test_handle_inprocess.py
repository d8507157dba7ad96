"""``Runtime.handle`` in-process, over the whole matrix of what a handler can do, with a fake
Runtime API client: every invocation gets exactly one post (a response, an error, or one
streamed response), checked in one place (``FakeClient.only_post``). The subprocess tests
(test_loop.py, the streaming and conformance suites) prove the same over real sockets; these
make each outcome cheap to state and keep the rule next to every case."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from lambdaloop import hooks, protocol
from lambdaloop.errors import ErrorReport
from lambdaloop.loop import CLASSIC, WORKER, ExitPolicy, Runtime
from lambdaloop.protocol import Invocation, PostOutcome
from lambdaloop.streaming import HttpResponse, ResponseStream, streaming
from lambdaloop.traceenv import TraceEnvironment
from lambdaloop.transport import Response, TransportError
from lambdaloop.upload import StreamUpload

OK = PostOutcome(True, "", 202)


class Post:
    def __init__(self, kind: str, request_id: str, body: bytes, error_type: str | None = None) -> None:
        self.kind = kind  # "response", "error" or "stream"
        self.request_id = request_id
        self.body = body
        self.error_type = error_type

    def json(self) -> Any:
        return json.loads(self.body)


class StreamConnection:
    """The connection a streamed response is written to: records the bytes, answers 202."""

    def __init__(self, client: FakeClient, request_id: str) -> None:
        self.client = client
        self.request_id = request_id
        self.sent = bytearray()

    def send(self, data: bytes | bytearray | memoryview) -> None:
        if not self.sent:
            self.client.posts.append(Post("stream", self.request_id, b""))
        self.sent += data
        self.client.posts[-1].body = bytes(self.sent)

    def read_response(self) -> Response:
        return Response(202, {}, b'{"status":"OK"}')

    def close(self) -> None:
        pass


class FakeClient:
    """The RuntimeClient's shape, recording every post. ``failing`` makes posts raise the
    transport's error, as a broken connection would."""

    host = "127.0.0.1:9001"
    user_agent = "test"

    def __init__(self, failing: bool = False) -> None:
        self.posts: list[Post] = []
        self.failing = failing
        self.resets = 0

    def respond(self, invocation: Invocation, body: bytes, content_type: str) -> PostOutcome:
        self._maybe_fail()
        self.posts.append(Post("response", invocation.request_id, body))
        return OK

    def fail(self, invocation: Invocation, report: ErrorReport) -> PostOutcome:
        self._maybe_fail()
        self.posts.append(Post("error", invocation.request_id, json.dumps(report.body).encode(), report.error_type))
        return OK

    def open_stream(self, invocation: Invocation) -> StreamUpload:
        connection = StreamConnection(self, invocation.request_id)
        return StreamUpload(connection, self.host, self.user_agent, invocation.request_id, None)  # type: ignore[arg-type]

    def reset(self) -> None:
        self.resets += 1

    def _maybe_fail(self) -> None:
        if self.failing:
            raise TransportError("connection reset by peer")

    def only_post(self, request_id: str) -> Post:
        """The one post for ``request_id``: the rule every case below is held to."""
        mine = [post for post in self.posts if post.request_id == request_id]
        assert len(mine) == 1, f"{len(mine)} posts for {request_id}: {[p.kind for p in mine]}"
        return mine[0]


def invocation(request_id: str = "r1", body: bytes = b"{}", **overrides: Any) -> Invocation:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "deadline_ms": 9_999_999_999_999,
        "invoked_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "trace_id": None,
        "client_context": None,
        "cognito_identity": None,
        "tenant_id": None,
        "invocation_id": None,
        "content_type": "application/json",
        "body": body,
    }
    fields.update(overrides)
    return Invocation(**fields)


@pytest.fixture
def runtime() -> Iterator[Any]:
    made: list[Runtime] = []

    def make(failing: bool = False, policy: ExitPolicy = CLASSIC) -> tuple[Runtime, FakeClient]:
        client = FakeClient(failing)
        rt = Runtime("app.handler", client, {"AWS_LAMBDA_FUNCTION_NAME": "f"}, policy)  # type: ignore[arg-type]
        rt.trace_env = TraceEnvironment({})  # not the test process's environment
        made.append(rt)
        return rt, client

    yield make
    for rt in made:
        if rt.async_loop is not None:
            rt.async_loop.loop.close()
            asyncio.set_event_loop(None)


class Boom(Exception):
    pass


class NotAnException(BaseException):
    pass


def _gen_ok(event: Any, context: Any) -> Iterator[str]:
    yield "a"
    yield "b"


def _gen_fails_first(event: Any, context: Any) -> Iterator[str]:
    raise Boom("before any byte")
    yield "never"


def _gen_fails_later(event: Any, context: Any) -> Iterator[str]:
    yield "partial"
    raise Boom("after the first byte")


def _gen_wrong_piece(event: Any, context: Any) -> Iterator[Any]:
    yield 42


def _gen_exits_later(event: Any, context: Any) -> Iterator[str]:
    yield "partial"
    sys.exit(3)


@streaming
def _writer_fails(event: Any, response_stream: ResponseStream, context: Any) -> None:
    response_stream.write("x")
    raise Boom("writer")


async def _async_ok(event: Any, context: Any) -> dict[str, int]:
    await asyncio.sleep(0)
    return {"async": 1}


async def _async_raises(event: Any, context: Any) -> None:
    await asyncio.sleep(0)
    raise Boom("async")


async def _async_cancelled(event: Any, context: Any) -> None:
    raise asyncio.CancelledError()


def _raise(exc: BaseException) -> Any:
    def handler(event: Any, context: Any) -> Any:
        raise exc

    return handler


def _returns(value: Any) -> Any:
    return lambda event, context: value


# (handler, kind of the one post, its error type when an error)
MATRIX: dict[str, tuple[Any, str, str | None]] = {
    "dict": (_returns({"a": 1}), "response", None),
    "none": (_returns(None), "response", None),
    "bytes": (_returns(b"\x00raw"), "response", None),
    "unserializable": (_returns({1, 2}), "error", "Runtime.MarshalError"),
    "exception": (_raise(Boom("no")), "error", "Boom"),
    "base-exception": (_raise(NotAnException("odd")), "error", "NotAnException"),
    "keyboard-interrupt": (_raise(KeyboardInterrupt()), "error", "KeyboardInterrupt"),
    "generator-exit": (_raise(GeneratorExit()), "error", "GeneratorExit"),
    "async-result": (_async_ok, "response", None),
    "async-raises": (_async_raises, "error", "Boom"),
    "async-cancelled": (_async_cancelled, "error", "CancelledError"),
    "stream": (_gen_ok, "stream", None),
    "stream-fails-before-first-byte": (_gen_fails_first, "error", "Boom"),
    "stream-fails-after-first-byte": (_gen_fails_later, "stream", "Boom"),
    "stream-wrong-piece": (_gen_wrong_piece, "error", "Runtime.MarshalError"),
    "http-response": (_returns(HttpResponse("body", 201)), "stream", None),
    "writer-fails": (_writer_fails, "stream", "Boom"),
}


@pytest.mark.parametrize("case", list(MATRIX))
def test_exactly_one_post_per_invocation(runtime: Any, case: str) -> None:
    handler, kind, error_type = MATRIX[case]
    rt, client = runtime()
    rt.handle(handler, invocation(case))
    post = client.only_post(case)
    assert post.kind == kind
    if kind == "error":
        assert post.error_type == error_type and post.json()["requestId"] == case
    elif kind == "stream" and error_type is not None:
        assert f"{protocol.H_ERROR_TYPE}: {error_type}".encode() in post.body  # a trailer after the bytes
    elif kind == "stream":
        assert post.body.endswith(protocol.STREAM_END) and protocol.H_ERROR_TYPE.encode() + b":" not in post.body


@pytest.mark.parametrize(
    ("handler", "kind"), [(_raise(SystemExit(3)), "error"), (_gen_exits_later, "stream")], ids=["handler", "stream"]
)
def test_sys_exit_posts_its_error_then_ends_the_process(runtime: Any, handler: Any, kind: str) -> None:
    rt, client = runtime()
    with pytest.raises(SystemExit) as raised:
        rt.handle(handler, invocation("exit"))
    assert raised.value.code == 3
    post = client.only_post("exit")
    assert post.kind == kind
    if kind == "error":
        assert post.error_type == "Runtime.ExitError"
    else:
        assert b"Runtime.ExitError" in post.body


@pytest.mark.parametrize(
    ("body", "error_type", "overrides"),
    [
        (b'{"a" 1}', "Runtime.UnmarshalError", {}),
        (b"{}", "Runtime.LambdaContextUnmarshalError", {"client_context": "[1, 2"}),
    ],
    ids=["bad-event", "bad-client-context"],
)
def test_bad_input_is_that_invocations_error(runtime: Any, body: bytes, error_type: str, overrides: Any) -> None:
    rt, client = runtime()
    rt.handle(_returns("never"), invocation("bad", body, **overrides))
    assert client.only_post("bad").error_type == error_type


def test_raising_hooks_never_change_the_outcome(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def bad_hook(*args: Any) -> None:
        seen.append(type(args[-1]).__name__)
        raise Boom("a broken integration")

    for name in ("BEFORE_INVOKE", "AFTER_INVOKE", "ON_ERROR"):
        monkeypatch.setattr(hooks, name, [bad_hook])
    rt, client = runtime()
    rt.handle(_returns({"fine": True}), invocation("ok"))
    rt.handle(_raise(Boom("handler")), invocation("err"))
    assert client.only_post("ok").kind == "response" and client.only_post("err").error_type == "Boom"
    assert len(seen) == 5  # before + after for each, on_error once


def test_after_invoke_sees_the_posted_outcome(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes: list[hooks.Outcome] = []
    monkeypatch.setattr(hooks, "AFTER_INVOKE", [lambda event, context, outcome: outcomes.append(outcome)])
    rt, _ = runtime()
    rt.handle(_returns({"v": 1}), invocation("ok"))
    rt.handle(_raise(Boom("no")), invocation("err"))
    rt.handle(_gen_fails_later, invocation("stream"))
    assert [o.ok for o in outcomes] == [True, False, False]
    assert outcomes[0].result == {"v": 1} and outcomes[1].error is not None and outcomes[1].error["errorType"] == "Boom"


def test_a_lost_post_ends_a_classic_process_but_not_a_worker(runtime: Any) -> None:
    rt, _ = runtime(failing=True, policy=CLASSIC)
    with pytest.raises(SystemExit) as raised:
        rt.handle(_returns({"a": 1}), invocation("lost"))
    assert raised.value.code == 1
    rt, _ = runtime(failing=True, policy=WORKER)
    rt.handle(_returns({"a": 1}), invocation("lost"))  # logged; this worker goes on
    rt.handle(_raise(Boom("x")), invocation("lost-error"))


def test_the_trace_id_follows_each_invocation(runtime: Any) -> None:
    rt, _ = runtime()
    environ: dict[str, str] = {}
    rt.trace_env = TraceEnvironment(environ)
    seen: list[str | None] = []
    handler = lambda event, context: seen.append(environ.get("_X_AMZN_TRACE_ID"))  # noqa: E731
    rt.handle(handler, invocation("a", trace_id="Root=1-a"))
    rt.handle(handler, invocation("b"))
    rt.handle(handler, invocation("c", trace_id="Root=1-c"))
    assert seen == ["Root=1-a", None, "Root=1-c"]
