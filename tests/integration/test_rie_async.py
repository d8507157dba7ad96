"""``async def`` handlers (lambdaloop only: awslambdaric never awaits the coroutine)."""

from __future__ import annotations

import pytest
from expect import ERROR_KEYS, frame
from rieharness import FUNCTIONS, RiePool, RieServer

pytestmark = pytest.mark.lambdaloop_only


@pytest.fixture(scope="module")
def async_app(rie_pool: RiePool, runtime: str) -> RieServer:
    return rie_pool.shared(runtime, "async_app.handler")


def test_async_handler_runs_on_one_persistent_loop(async_app: RieServer) -> None:
    results = []
    for _ in range(4):
        res = async_app.invoke({})
        assert res.status == 200, res
        body = res.json()
        assert body["request_id"] == res.request_id
        results.append(body)
    assert len({r["pid"] for r in results}) == 1, results
    counts = [r["invokes"] for r in results]
    assert counts == list(range(counts[0], counts[0] + 4)), counts
    # The module-level Lock and Queue, created at import and bound to the loop at the first
    # contended use, kept working: a new loop per invoke would have raised RuntimeError.
    assert [r["queue"] for r in results] == counts
    # A future created by one invoke was awaited by the next one.
    assert [r["previous"] for r in results[1:]] == ["from the previous invoke"] * 3
    # Every invoke so far ran on the same loop object.
    loop_ids = results[-1]["loop_ids"]
    assert len(loop_ids) >= 4 and len(set(loop_ids)) == 1, loop_ids
    assert all(r["loop_running"] for r in results)


def test_async_handler_exception(async_app: RieServer) -> None:
    res = async_app.invoke({"raise": "missing-key"})
    assert res.status == 200, res
    body = res.json()
    assert list(body) == ERROR_KEYS
    assert body["errorType"] == "KeyError"
    assert body["errorMessage"] == "'missing-key'"
    assert body["requestId"] == res.request_id
    assert body["stackTrace"] == [frame(FUNCTIONS / "async_app.py", "handler", 'raise KeyError(event["raise"])')]
    # The loop survives a failing coroutine.
    after = async_app.invoke({})
    assert after.status == 200, after
    assert len(set(after.json()["loop_ids"])) == 1
