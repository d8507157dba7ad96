"""Mangum + FastAPI through the real loop, compared with awslambdaric, for the current
release (0.22.0: ``run_until_complete`` on the thread's loop), the last release before 0.20
(0.19.0: the same), and 0.20.0 (the one release that calls ``asyncio.run()`` per invoke);
then the same app behind 0.22.0, 0.20.0 and ``lambdaloop.asgi.handler`` in one process."""

from __future__ import annotations

import base64
import json
import os
from importlib.metadata import version
from typing import Any

import pytest

from lambdaloop.emulator.harness import LocalFunction

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


# ---- one app behind both Mangum styles and lambdaloop's own adapter, in one process -----

ADAPTERS = ["mangum", "mangum-0.20.0", "lambdaloop"]
PRELUDE_END = b"\0" * 8


def answer(fn: LocalFunction, adapter: str, event: dict[str, Any]) -> tuple[int, dict[str, str], list[str], Any]:
    """(status, headers, cookies, body) as the HTTP client behind the Function URL or API
    Gateway would see them: from Mangum's result document, or from the prelude and body
    lambdaloop's adapter streams."""
    event = {**event, "adapter": adapter}
    if adapter == "lambdaloop":
        prelude, sep, raw = b"".join(fn.invoke_stream(event)).partition(PRELUDE_END)
        assert sep, "no HTTP-integration prelude"
        head = json.loads(prelude)
        body = raw
    else:
        head = fn.invoke(event)
        body = base64.b64decode(head["body"]) if head.get("isBase64Encoded") else head.get("body", "").encode()
    headers = {name.lower(): value for name, value in (head.get("headers") or {}).items()}
    cookies = head.get("cookies") or []
    if headers.get("content-type") == "application/json":
        # How often the app's lifespan ran is where the adapters differ (checked apart).
        decoded = {k: v for k, v in json.loads(body).items() if k != "startups"}
        return head["statusCode"], headers, cookies, decoded
    return head["statusCode"], headers, cookies, body


def test_one_app_through_both_mangum_styles_and_lambdaloops_adapter_in_one_process(functions: Functions) -> None:
    env = {"MANGUM_020_PATH": str(old_release("mangum", "0.20.0"))}
    fn = functions.start("mangum_adapters.handler", "lambdaloop", env)
    events = [
        http_event("apigw-v2", "GET", "/items/3", query="q=x"),
        http_event("apigw-v2", "POST", "/items", body=json.dumps({"name": "pen", "price": 1.5})),
        http_event("apigw-v2", "GET", "/count", query="n=4"),  # a StreamingResponse
        http_event("apigw-v2", "GET", "/missing"),
    ]
    # Every adapter after every other, so each one runs after whatever the previous left
    # behind (0.20.0's asyncio.run() clears the thread's event loop, for one).
    order = [*ADAPTERS, "mangum", "lambdaloop", "mangum-0.20.0", "mangum"]
    for event in events:
        answers = {adapter: answer(fn, adapter, event) for adapter in order}
        assert len({json.dumps(a, default=repr) for a in answers.values()}) == 1, answers
    status, headers, _, body = answer(fn, "lambdaloop", events[2])
    assert (status, headers["x-count"], body) == (200, "4", b"0\n1\n2\n3\n")
    assert answer(fn, "mangum", events[0])[3] == {"item_id": 3, "q": "x", "mangum": CURRENT}

    report = fn.invoke({"adapter": "report"})
    assert report["versions"] == {"mangum": CURRENT, "mangum-0.20.0": "0.20.0"}
    loops = report["loops"]
    extra = {"mangum": 1, "lambdaloop": 1, "mangum-0.20.0": 0}  # the two single checks after the loop
    assert {name: len(ids) for name, ids in loops.items()} == {
        name: len(events) * order.count(name) + extra[name] for name in ADAPTERS
    }
    # lambdaloop's adapter: every request on the one persistent loop. 0.20.0: a new loop each
    # time. (Current Mangum runs on whatever loop the thread has, so on what ran before it.)
    assert len(set(loops["lambdaloop"])) == 1
    assert len(set(loops["mangum-0.20.0"])) == len(loops["mangum-0.20.0"])
    assert not set(loops["mangum-0.20.0"]) & set(loops["lambdaloop"])
    # Mangum runs the lifespan on every invoke; lambdaloop's adapter once per process.
    mangum_invokes = len(loops["mangum"]) + len(loops["mangum-0.20.0"])
    assert report["startups"] == mangum_invokes + 1
    assert "Traceback" not in "\n".join(fn.logs)
    # One process served all of it: the runtime never restarted.
    assert sum(line.startswith("INIT_REPORT") or "Init Duration" in line for line in fn.platform_lines) == 1
