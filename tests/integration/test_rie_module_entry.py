"""``python -m lambdaloop HANDLER`` as the RIE's command: the drop-in for ``python -m awslambdaric``."""

from __future__ import annotations

import pytest
from expect import ERROR_KEYS, expected_stack
from rieharness import RiePool, RieServer

pytestmark = pytest.mark.lambdaloop_only


@pytest.fixture(scope="module")
def module_app(rie_pool: RiePool) -> RieServer:
    return rie_pool.shared("module", "app.handler")


def test_success(module_app: RieServer) -> None:
    res = module_app.invoke({"case": "dict"})
    assert res.status == 200, res
    assert res.json()["nested"] == {"list": [1, "two", None, False]}


def test_handler_exception(module_app: RieServer) -> None:
    res = module_app.invoke({"case": "raise", "message": "via -m"})
    assert res.status == 200, res
    body = res.json()
    assert list(body) == ERROR_KEYS
    assert (body["errorType"], body["errorMessage"], body["requestId"]) == ("ValueError", "via -m", res.request_id)
    assert body["stackTrace"] == expected_stack("app", "handler", {"case": "raise", "message": "via -m"}, None)


def test_warm_reuse(module_app: RieServer) -> None:
    first, second = module_app.invoke({"case": "pid"}).json(), module_app.invoke({"case": "pid"}).json()
    assert second["pid"] == first["pid"]
    assert second["invokes"] == first["invokes"] + 1


def test_init_error(rie_pool: RiePool) -> None:
    server = rie_pool.fresh("module", "app.nope")
    res = server.invoke({})
    assert res.status == 502, res
    assert res.json() == {
        "errorMessage": "Handler 'nope' missing on module 'app'",
        "errorType": "Runtime.HandlerNotFound",
        "requestId": "",
        "stackTrace": [],
    }


def test_context(rie_pool: RiePool) -> None:
    server = rie_pool.shared("module", "app.describe_context", {"AWS_LAMBDA_FUNCTION_TIMEOUT": "20"})
    res = server.invoke({}, request_id="module-ctx-1", headers={"X-Amz-Tenant-Id": "tenant-m"})
    ctx = res.json()
    assert ctx["aws_request_id"] == "module-ctx-1"
    assert (ctx["function_name"], ctx["memory_limit_in_mb"], ctx["function_version"]) == (
        "test_function",
        "3008",
        "$LATEST",
    )
    assert 10_000 < ctx["remaining_ms"] <= 20_000
    assert ctx["tenant_id"] == "tenant-m"
