"""Mangum + FastAPI through the real loop, compared with awslambdaric, for the current
release (0.22.0: ``run_until_complete`` on the thread's loop), the last release before 0.20
(0.19.0: the same), and 0.20.0 (the one release that calls ``asyncio.run()`` per invoke)."""

from __future__ import annotations

import json
import os
from importlib.metadata import version

import pytest

from .conftest import Functions, http_event, old_release

pytest.importorskip("mangum", reason="mangum is not installed (pip install -e '.[compat]')")
pytest.importorskip("fastapi", reason="fastapi is not installed (pip install -e '.[compat]')")

CURRENT = "0.22.0"


def mangum_env(release: str) -> dict[str, str]:
    if release == CURRENT:
        assert version("mangum") == CURRENT, "the compat extra pins the mangum this suite tests"
        return {}
    # In front of whatever PYTHONPATH the test run has (it may point at the lambdaloop under test).
    return {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(old_release("mangum", release)), os.environ.get("PYTHONPATH")]))
    }


EVENTS = [
    http_event("apigw-v2", "GET", "/items/3", query="q=x"),
    http_event("apigw-v1", "POST", "/items", body=json.dumps({"name": "pen", "price": 1.5})),
    http_event("function-url", "GET", "/items/4"),
    http_event("apigw-v2", "GET", "/missing"),
]


@pytest.mark.parametrize("release", [CURRENT, "0.19.0", "0.20.0"])
def test_fastapi_behind_mangum_matches_awslambdaric(functions: Functions, release: str) -> None:
    sessions = functions.both("mangum_app.handler", EVENTS, mangum_env(release))
    ours, theirs = sessions["lambdaloop"], sessions["awslambdaric"]
    assert all(c.ok for c in ours.calls), ours.calls
    assert [c.result for c in ours.calls] == [c.result for c in theirs.calls]
    first, created, url, missing = (c.result for c in ours.calls)
    assert json.loads(first["body"]) == {"item_id": 3, "q": "x", "mangum": release, "startups": 1}
    assert (created["statusCode"], json.loads(created["body"])) == (201, {"created": {"name": "pen", "price": 1.5}})
    # Mangum runs the lifespan on every invoke (one startup per invoke so far).
    assert json.loads(url["body"])["startups"] == 3
    assert missing["statusCode"] == 404
    assert "Traceback" not in ours.text()


@pytest.mark.parametrize("release", [CURRENT, "0.19.0", "0.20.0"])
def test_sync_mangum_after_async_handler_in_the_same_process(functions: Functions, release: str) -> None:
    """lambdaloop awaits a coroutine on its persistent loop, and between invocations that loop
    is not running: a sync handler that then calls ``run_until_complete`` or ``asyncio.run``
    (Mangum) must work, and the persistent loop must survive ``asyncio.run`` clearing the
    thread's current loop."""
    get = http_event("apigw-v2", "GET", "/items/7")
    events = [{"mode": "async"}, get, {"mode": "async"}, get, {"mode": "async"}]
    ours = functions.session("mangum_app.mixed", "lambdaloop", events, mangum_env(release))
    assert all(c.ok for c in ours.calls), ours.calls
    loops = [c.result["loop"] for c in ours.calls[0::2]]
    assert all(c.result["async"] for c in ours.calls[0::2])
    assert len(set(loops)) == 1, "one event loop for the life of the process"
    for sync_call in ours.calls[1::2]:
        assert sync_call.result["loop_running_before_mangum"] is False
        assert sync_call.result["response"]["statusCode"] == 200
        assert json.loads(sync_call.result["response"]["body"])["mangum"] == release
