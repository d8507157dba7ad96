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
    code = runtime.wait()
    assert code == 1


def test_a_worker_that_dies_after_init_is_replaced(run) -> None:  # noqa: F811
    events = [event("r1", b'{"crash": true}'), event("r2"), event("r3"), event("r4")]
    api, runtime = run(events, "lmifns.crash", env={"AWS_LAMBDA_MAX_CONCURRENCY": "1"})
    posts = [api.wait_post() for _ in range(4)]
    # r1's worker died mid-invocation: the supervisor answered it, once, as the platform would.
    orphan = next(p for p in posts if "/r1/" in p.path)
    assert orphan.path.endswith("/r1/error")
    assert orphan.headers["lambda-runtime-function-error-type"] == "Runtime.ExitError"
    assert json.loads(orphan.body)["errorMessage"].endswith("Runtime exited with error: exit status 9")
    pids = [json.loads(p.body) for p in posts if p is not orphan]
    assert len(set(pids)) == 1  # the replacement serves the rest
    assert runtime.proc.poll() is None
    assert "starting a replacement" in runtime.stop()


def test_sigterm_ends_workers_and_supervisor_without_replacements(run) -> None:  # noqa: F811
    import os
    import signal

    api, runtime = run([event("r1")], "lmifns.crash", env={"AWS_LAMBDA_MAX_CONCURRENCY": "2"})
    api.wait_post()
    os.killpg(runtime.proc.pid, signal.SIGTERM)  # as the platform does: the whole group
    code, out = runtime.wait(), runtime.output
    assert code == 0
    assert "replacement" not in out


def test_in_flight_slots_round_trip() -> None:
    import mmap

    from lambdaloop.workers import InFlight

    memory = mmap.mmap(-1, 2 * 1024)
    first, second = InFlight(memory, 0), InFlight(memory, 1)
    assert first.read() is None
    first.begin("r" * 600, "inv-1")
    second.begin("r2", None)
    assert first.read() == ("r" * 600, "inv-1")
    assert second.read() == ("r2", None)
    first.end()
    assert first.read() is None and second.read() == ("r2", None)
