"""Hooks never decide an invocation's fate: whatever they raise, exactly one post per invoke."""

from __future__ import annotations

import json

import pytest

from .fakeapi import event
from .test_loop import run  # noqa: F401  (the fixture)


def invoke_events(*fns: str) -> list:
    return [event(f"r{i}", json.dumps({"fn": fn}).encode()) for i, fn in enumerate(fns, 1)]


@pytest.mark.parametrize("mode", ["on_error_exits", "on_error_bad_str"])
def test_a_raising_on_error_hook_still_leaves_one_error_post(run, mode: str) -> None:  # noqa: F811
    api, runtime = run(invoke_events("fails", "ok"), "hookfns.dispatch", env={"HOOK_MODE": mode})
    error, response = api.wait_post(), api.wait_post()
    assert error.path.endswith("/r1/error") and json.loads(error.body)["errorType"] == "ValueError"
    assert response.path.endswith("/r2/response")
    assert runtime.proc.poll() is None
    assert "lambdaloop: hook" in runtime.stop()


def test_a_raising_before_invoke_hook_does_not_stop_the_handler(run) -> None:  # noqa: F811
    api, _ = run(invoke_events("ok"), "hookfns.dispatch", env={"HOOK_MODE": "before_raises"})
    assert api.wait_post().path.endswith("/r1/response")


def test_after_invoke_sees_each_outcome(run) -> None:  # noqa: F811
    api, _ = run(invoke_events("fails", "ok", "ok"), "hookfns.dispatch")
    api.wait_post(), api.wait_post()
    assert json.loads(api.wait_post().body) == {"seen": [[False, "ValueError"], [True, None]]}


@pytest.mark.parametrize(("fn", "error_type"), [("deletes_cwd_then_fails", "KeyError"), ("bad_str", "BadStr")])
def test_errors_that_break_report_building_are_still_posted(run, fn: str, error_type: str) -> None:  # noqa: F811
    api, _ = run(invoke_events(fn, "ok"), "hookfns.dispatch")
    error = api.wait_post()
    assert error.path.endswith("/r1/error") and json.loads(error.body)["errorType"] == error_type
    assert api.wait_post().path.endswith("/r2/response")
