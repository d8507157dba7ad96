"""Handler strings and the context object, compared in-process with awslambdaric itself."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from awslambdaric import bootstrap as ric_bootstrap
from awslambdaric.lambda_context import LambdaContext as RicContext
from awslambdaric.lambda_runtime_exception import FaultException

from lambdaloop.context import FunctionEnvironment, LambdaContext
from lambdaloop.errors import FaultError
from lambdaloop.handler import is_async_handler, load_handler

MODS = str(Path(__file__).parent / "mods")


@pytest.fixture(autouse=True)
def mods_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(MODS)


def outcome_lambdaloop(handler: str) -> tuple[str, str]:
    try:
        load_handler(handler)
    except FaultError as fault:
        return fault.error_type, fault.message
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


def outcome_awslambdaric(handler: str) -> tuple[str, str]:
    for name in [m for m in sys.modules if m.startswith(("ut_", "pkg"))]:
        del sys.modules[name]  # both runtimes must import the module afresh
    try:
        ric_bootstrap._get_handler(handler)
    except FaultException as fault:
        return fault.exception_type, fault.msg
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return "ok", ""


@pytest.mark.parametrize(
    "handler",
    [
        "app", "sys.handler", "sys/x.handler", "nomodule_xyz.handler", "ut_missing_dep.handler", "ut_syntax.handler",
        "ut_raises.handler", "ut_ok.nope", "ut_ok.handler", "pkg/sub/mod.handler", "pkg.sub.mod.handler",
        "pkg.sub.mod.Class.method", ".handler", "ut_ok.",
    ],
)  # fmt: skip
def test_handler_resolution_matches_awslambdaric(handler: str) -> None:
    theirs = outcome_awslambdaric(handler)
    for name in [m for m in sys.modules if m.startswith(("ut_", "pkg"))]:
        del sys.modules[name]
    assert outcome_lambdaloop(handler) == theirs


def test_slash_form_returns_the_function() -> None:
    assert load_handler("pkg/sub/mod.handler")(None, None) == "deep"


def test_async_detection() -> None:
    async def coroutine_function(event: object, context: object) -> None: ...

    class AsyncCallable:
        async def __call__(self, event: object, context: object) -> None: ...

    class Methods:
        async def method(self, event: object, context: object) -> None: ...

    assert is_async_handler(coroutine_function)
    assert is_async_handler(AsyncCallable())
    assert is_async_handler(Methods().method)
    assert not is_async_handler(lambda e, c: None)
    assert not is_async_handler(print)


ENV = {
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/f",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/23/[$LATEST]abc",
    "AWS_LAMBDA_FUNCTION_NAME": "f",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
}
CLIENT_CONTEXT = {
    "custom": {"k": "v"},
    "env": {"platform": "x"},
    "client": {"installation_id": "i", "app_title": "t"},
    "w3c": {"traceparent": "00-abc-def-01", "tracestate": 5, "other": "x"},
}


@pytest.mark.parametrize(("client_context", "cognito"), [(None, None), (CLIENT_CONTEXT, {"cognitoIdentityId": "c1"})])
def test_context_matches_awslambdaric(monkeypatch: pytest.MonkeyPatch, client_context, cognito) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    import copy

    theirs = RicContext("rid", copy.deepcopy(client_context), cognito, 9999999999999, "arn:x", "tenant")
    ours = LambdaContext(
        "rid", copy.deepcopy(client_context), cognito, 9999999999999, "arn:x", "tenant", FunctionEnvironment(ENV)
    )
    assert repr(ours) == repr(theirs)
    assert ours.w3c() == theirs.w3c()
    assert type(ours.memory_limit_in_mb) is str
    for name in ("aws_request_id", "log_group_name", "log_stream_name", "function_name", "function_version",
                 "invoked_function_arn", "tenant_id"):  # fmt: skip
        assert getattr(ours, name) == getattr(theirs, name)
    assert repr(ours.identity) == repr(theirs.identity)
    assert repr(ours.client_context) == repr(theirs.client_context)
    assert 0 < ours.get_remaining_time_in_millis() <= theirs.get_remaining_time_in_millis() + 5


def test_w3c_is_popped_from_client_context() -> None:
    import copy

    ctx = LambdaContext("r", copy.deepcopy(CLIENT_CONTEXT), None, 0, environment=FunctionEnvironment({}))
    assert ctx.w3c() == {"traceparent": "00-abc-def-01"}
    assert not hasattr(ctx.client_context, "w3c")
    assert ctx.get_remaining_time_in_millis() == 0
