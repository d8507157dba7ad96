"""AWS_LAMBDA_MAX_CONCURRENCY: forked workers, each a full loop; the parent supervises."""

from __future__ import annotations

import json
from pathlib import Path

from .fakeapi import event
from .test_loop import run  # noqa: F401  (the fixture)


def test_workers_serve_invocations_in_parallel(run, tmp_path: Path) -> None:  # noqa: F811
    payload = json.dumps({"dir": str(tmp_path), "count": 3}).encode()
    events = [event(f"r{i}", payload) for i in range(3)]
    api, _ = run(events, "lmifns.rendezvous", env={"AWS_LAMBDA_MAX_CONCURRENCY": "3"})
    posts = [api.wait_post(timeout=40) for _ in range(3)]
    assert all(post.path.endswith("/response") for post in posts), [p.body for p in posts]
    assert len({json.loads(post.body) for post in posts}) == 3  # three different worker processes


def test_init_error_in_workers_ends_the_runtime(run) -> None:  # noqa: F811
    api, runtime = run([], "lmifns.missing_handler", env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"})
    first = api.wait_post()
    assert first.path == "/2018-06-01/runtime/init/error"
    assert first.headers["lambda-runtime-function-error-type"] == "Runtime.HandlerNotFound"
    code, _ = runtime.wait()
    assert code == 1


def test_a_worker_that_dies_after_init_is_replaced(run) -> None:  # noqa: F811
    events = [event("r1", b'{"crash": true}'), event("r2"), event("r3"), event("r4")]
    api, runtime = run(events, "lmifns.crash", env={"AWS_LAMBDA_MAX_CONCURRENCY": "1"})
    pids = [json.loads(api.wait_post().body) for _ in range(3)]  # r1 got no answer: its worker died
    assert len(set(pids)) == 1  # the replacement serves the rest
    assert runtime.proc.poll() is None
    assert "starting a replacement" in runtime.stop()


def test_sigterm_ends_workers_and_supervisor_without_replacements(run) -> None:  # noqa: F811
    import os
    import signal

    api, runtime = run([event("r1")], "lmifns.crash", env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"})
    api.wait_post()
    os.killpg(runtime.proc.pid, signal.SIGTERM)  # as the platform does: the whole group
    code, out = runtime.wait()
    assert code == 0
    assert "replacement" not in out
