"""The loop against /next answers whose values are hostile: request ids that would name another
path or break the request line, ids that are not UTF-8, control characters in headers that are
echoed, a NUL in the trace id. Each invocation still gets exactly one post, to its own path,
and the loop goes on."""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

import pytest

from .fakeapi import event
from .test_loop import run  # noqa: F401  (the fixture)

PREFIX = "/2018-06-01/runtime/invocation/"

# Ids as the fake sends them: each str character is one byte on the wire (latin-1).
HOSTILE_IDS = {
    "dot-dot-slash": "../../init/error",
    "dot-dot": "..",
    "query-fragment-percent-space": "a b?c#d%e",
    "nul": "r\x00",
    "lone-lf": "r\nX-Forged: 1",
    "utf-8": "caf\xc3\xa9",
    "not-utf-8": "\xff\xfe",
    "colon-at": "a:b@c",
}


def test_every_hostile_request_id_gets_one_post_to_its_own_path(run) -> None:  # noqa: F811
    events = [event(rid) for rid in HOSTILE_IDS.values()] + [event("last")]
    api, runtime = run(events, "loopfns.echo")
    for name, rid in HOSTILE_IDS.items():
        post = api.wait_post()
        assert post.method == "POST" and post.path.startswith(PREFIX), name
        segment, _, action = post.path[len(PREFIX) :].rpartition("/")
        assert action == "response", (name, post.path)
        assert "/" not in segment and " " not in segment and "?" not in segment and "#" not in segment
        assert unquote_to_bytes(segment) == rid.encode("latin-1"), name
        assert b"\nX-Forged" not in post.raw_head
    assert api.wait_post().path == PREFIX + "last/response"
    assert runtime.proc.poll() is None
    assert "Traceback" not in runtime.output


def test_invocation_id_with_a_line_break_is_not_echoed(run) -> None:  # noqa: F811
    api, runtime = run([event("r1", Lambda_Runtime_Invocation_Id="inv\nX-Forged: 1"), event("r2")], "loopfns.echo")
    post = api.wait_post()
    assert post.path == PREFIX + "r1/response"
    assert "lambda-runtime-invocation-id" not in post.headers and b"\nX-Forged" not in post.raw_head
    assert api.wait_post().path == PREFIX + "r2/response"
    assert "not echoed" in runtime.output and "Traceback" not in runtime.output


def test_trace_id_with_nul_is_ignored_and_the_loop_goes_on(run) -> None:  # noqa: F811
    events = [event("r1", Lambda_Runtime_Trace_Id="Root=1-a\x00b"), event("r2", Lambda_Runtime_Trace_Id="Root=1-ok")]
    api, runtime = run(events, "loopfns.trace_env")
    first, second = api.wait_post(), api.wait_post()
    assert first.path == PREFIX + "r1/response" and json.loads(first.body) == {"python": None, "c": ""}
    assert json.loads(second.body) == {"python": "Root=1-ok", "c": "Root=1-ok"}
    assert "NUL" in runtime.output and "Traceback" not in runtime.output


def test_keyboard_interrupt_is_that_invocations_error_and_the_loop_goes_on(run) -> None:  # noqa: F811
    api, runtime = run([event("r1", b'{"fn": "interrupted"}'), event("r2", b'{"fn": "echo"}')], "loopfns.dispatch")
    error = api.wait_post()
    assert error.path == PREFIX + "r1/error"
    assert json.loads(error.body)["errorType"] == "KeyboardInterrupt"
    assert api.wait_post().path == PREFIX + "r2/response"
    assert runtime.proc.poll() is None


@pytest.mark.parametrize("count", [40])
def test_trace_env_stays_right_after_the_switch_to_in_place_buffers(run, count: int) -> None:  # noqa: F811
    """The first invocations set the variable through os.environ, later ones in place: both the
    Python mapping and the C environment (what child processes inherit) see each value, and an
    invocation without a trace id has none."""
    events = []
    for i in range(count):
        events.append(event(f"r{i}", Lambda_Runtime_Trace_Id=f"Root=1-{i:08x}" if i % 5 else None))
    api, _ = run(events, "loopfns.trace_env")
    for i in range(count):
        expected = f"Root=1-{i:08x}" if i % 5 else None
        assert json.loads(api.wait_post().body) == {"python": expected, "c": expected or ""}, i
