"""Lambda Managed Instances with an async handler, through the real runtime process against a
fake Runtime API: invocations run as tasks, many per process, each keeping its own request id
(log records, context), trace id (``lambdaloop.trace_id()``, never ``os.environ``) and deadline;
``sys.exit`` in one invocation answers it and the process is replaced; a blocked event loop is
reported; bad settings are bounded."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from .fakeapi import event
from .test_loop import run  # noqa: F401  (the fixture)

PREFIX = "/2018-06-01/runtime/invocation/"
LMI_ENV = {"AWS_LAMBDA_MAX_CONCURRENCY": "8", "LAMBDALOOP_SIGTERM": "0", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
LINE = re.compile(r"^\[INFO\]\t\S+\t(?P<rid>[^\t]*)\t(?P<tag>\S+) (?P<where>[a-z-]+)$", re.M)


def posts(api, count: int, timeout: float = 20.0) -> dict[str, object]:
    out = {}
    for _ in range(count):
        post = api.wait_post(timeout)
        rid, _, action = post.path[len(PREFIX) :].rpartition("/")
        out[rid] = (action, json.loads(post.body))
    return out


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def wait_for(predicate, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def waiting_in_next(api, count: int) -> bool:
    """Until ``count`` /next calls have arrived: every slot polls, then the events go out."""
    return wait_for(lambda: sum(r.path.endswith("/invocation/next") for r in api.requests) >= count, 20)


def test_invocations_run_concurrently_in_at_most_one_process_per_cpu_each_with_its_own_ids(run) -> None:  # noqa: F811
    api, runtime = run([], "asyncslots.handler", env=LMI_ENV)
    assert waiting_in_next(api, 8)  # all 8 slots poll before any event exists: they must overlap
    for i in range(8):
        api.events.put(event(f"r{i}", b'{"sleep": 0.5}', Lambda_Runtime_Trace_Id=f"Root=1-{i:08x}"))
    answers = posts(api, 8)
    assert set(answers) == {f"r{i}" for i in range(8)}
    results = [body for action, body in answers.values()]
    assert all(action == "response" for action, _ in answers.values())
    # Concurrent, not one after the other: every invocation started before any finished.
    assert max(r["start"] for r in results) < min(r["end"] for r in results)
    pids = {r["pid"] for r in results}
    cpus = len(os.sched_getaffinity(0))
    assert len(pids) <= cpus and len(children(runtime.pid)) == min(cpus, 8)
    for i in range(8):
        body = answers[f"r{i}"][1]
        assert body["request_id"] == f"r{i}"
        trace = f"Root=1-{i:08x}"
        assert body["trace"] == body["trace_in_task"] == body["trace_in_thread"] == trace
        assert body["env_trace"] is None  # never the process-wide variable in this mode
    assert wait_for(lambda: len(LINE.findall(runtime.output)) == 8 * 4)
    for record in LINE.finditer(runtime.output):
        assert record["rid"] == record["tag"], record.group(0)  # each record carries its own invocation's id
    places = {m["where"] for m in LINE.finditer(runtime.output)}
    assert places == {"before-await", "after-await", "from-task", "from-thread"}


def test_sys_exit_answers_its_invocation_lets_the_others_finish_and_the_process_is_replaced(run) -> None:  # noqa: F811
    env = dict(LMI_ENV, AWS_LAMBDA_MAX_CONCURRENCY="2")
    events = [event("exits", b'{"sleep": 0.1, "exit": 3}'), event("slow", b'{"sleep": 0.8}')]
    # One usable CPU (inherited by the runtime): one process holds both slots, so the exit and
    # the slow invocation share it and the drain is what is tested.
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(affinity)})
    try:
        api, runtime = run(events, "asyncslots.handler", env=env)
        assert wait_for(lambda: len(children(runtime.pid)) == 1)
    finally:
        os.sched_setaffinity(0, affinity)
    answers = posts(api, 2)
    assert answers["exits"][0] == "error" and answers["exits"][1]["errorType"] == "Runtime.ExitError"
    # Posted by its own slot, with the place of the exit (not the supervisor's answer for a dead
    # process, which has no stack), and the process-mate drained, not cut off.
    assert "sys.exit" in answers["exits"][1]["stackTrace"][-1]
    assert answers["slow"][0] == "response"
    first_pid = answers["slow"][1]["pid"]
    api.events.put(event("after", b'{"sleep": 0}'))
    action, body = posts(api, 1)["after"]
    assert action == "response" and body["pid"] != first_pid  # a replacement serves it
    assert "starting a replacement" in runtime.output


def test_an_invocation_past_its_deadline_is_cancelled_and_its_slot_freed(run) -> None:  # noqa: F811
    env = dict(LMI_ENV, AWS_LAMBDA_MAX_CONCURRENCY="1")
    deadline = str(int(time.time() * 1000) + 300)
    events = [event("hung", b'{"sleep": 60}', Lambda_Runtime_Deadline_Ms=deadline), event("next", b'{"sleep": 0}')]
    api, _ = run(events, "asyncslots.handler", env=env)
    answers = posts(api, 2, timeout=15)
    assert answers["hung"][0] == "error" and answers["hung"][1]["errorType"] == "Sandbox.Timedout"
    assert answers["next"][0] == "response"  # the same slot, free again


def test_a_blocked_event_loop_is_reported_with_the_invocation_and_the_line(run) -> None:  # noqa: F811
    env = dict(LMI_ENV, AWS_LAMBDA_MAX_CONCURRENCY="2")
    api, runtime = run([event("blocker", b'{"sleep": 0, "block": 1.6}')], "asyncslots.handler", env=env)
    assert posts(api, 1)["blocker"][0] == "response"
    assert wait_for(lambda: "the event loop has not turned" in runtime.output)
    line = next(text for text in runtime.output.splitlines() if "the event loop has not turned" in text)
    assert "RequestId: blocker" in line and "asyncslots.py" in line and "in handler" in line


@pytest.mark.parametrize(
    ("value", "message"),
    [("abc", "is not a number"), ("0", "is not positive"), ("-4", "is not positive"), ("100000", "serving")],
)
def test_bad_concurrency_settings_are_reported_and_bounded(run, value: str, message: str) -> None:  # noqa: F811
    env = dict(LMI_ENV, AWS_LAMBDA_MAX_CONCURRENCY=value)
    api, runtime = run([event("r1", b'{"sleep": 0}')], "asyncslots.handler", env=env)
    assert posts(api, 1)["r1"][0] == "response"
    assert message in runtime.output
    assert len(children(runtime.pid)) <= len(os.sched_getaffinity(0))  # no fork bomb


def test_a_sync_handler_still_gets_one_process_per_invocation(run) -> None:  # noqa: F811
    env = dict(LMI_ENV, AWS_LAMBDA_MAX_CONCURRENCY="4")
    api, runtime = run([event(f"s{i}") for i in range(4)], "asyncslots.sync_handler", env=env)
    answers = posts(api, 4)
    assert all(action == "response" for action, _ in answers.values())
    assert wait_for(lambda: len(children(runtime.pid)) == 4)


def test_opentelemetry_picks_up_each_invocations_trace_id(run) -> None:  # noqa: F811
    pytest.importorskip("opentelemetry.propagators.aws", reason="the compat extra (./dev installs it) is not installed")
    roots = [f"5759e988bd862e3fe1be46a99427{i:04x}" for i in range(4)]
    events = [
        event(f"o{i}", Lambda_Runtime_Trace_Id=f"Root=1-{r[:8]}-{r[8:]};Parent={i + 1:016x};Sampled=1")
        for i, r in enumerate(roots)
    ]
    api, _ = run(events, "asyncslots.otel_trace", env=dict(LMI_ENV, AWS_LAMBDA_MAX_CONCURRENCY="4"))
    answers = posts(api, 4)
    for i, root in enumerate(roots):
        assert answers[f"o{i}"][1] == {"trace_id": root, "parent_id": f"{i + 1:016x}"}


def test_streamed_responses_from_concurrent_invocations(run) -> None:  # noqa: F811
    """Sync and async generators stream from the concurrent model (a blocking connection per
    stream, in a worker thread), side by side, each with its own request id on its pieces and
    log records; a failure after the first piece ends that stream with the error trailers."""
    events = [
        event("s", b'{"kind": "sync"}'),
        event("a", b'{"kind": "async"}'),
        event("f", b'{"kind": "fail"}'),
        event("b", b'{"sleep": 0.1}'),
    ]
    api, runtime = run(events, "asyncslots.streams", env=dict(LMI_ENV, AWS_LAMBDA_MAX_CONCURRENCY="4"))
    posts_by_id = {}
    for _ in range(4):
        post = api.wait_post(20)
        posts_by_id[post.path[len(PREFIX) :].rpartition("/")[0]] = post
    for rid in ("s", "a"):
        post = posts_by_id[rid]
        assert post.headers.get("lambda-runtime-function-response-mode") == "streaming"
        assert post.body == f"{rid}:0;{rid}:1;{rid}:2;".encode()
    failed = posts_by_id["f"]
    assert failed.body == b"f:0;" and failed.trailers["lambda-runtime-function-error-type"] == "ValueError"
    assert wait_for(lambda: len(re.findall(r"\tpiece \d", runtime.output)) == 9)
    records = re.findall(r"^\[INFO\]\t\S+\t(\w)\tpiece \d$", runtime.output, re.M)
    assert sorted(records) == ["a"] * 3 + ["b"] * 3 + ["s"] * 3  # each piece logged under its own id
