"""The async model through AWS's RIE in its LMI engine: many invocations per process as tasks
(at most one process per usable CPU), each keeping its own request id in its answer and its
log records; a process that crashes mid-flight has every invocation it was serving answered
with Runtime.ExitError and is replaced; SIGTERM ends every process."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

from rie_lmi import LAMBDALOOP, Deps, LmiRie

FUNCTIONS = Path(__file__).with_name("functions")


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


def test_32_concurrent_invocations_as_tasks_keep_their_ids_apart(tmp_path: Path, lmi_deps: Deps) -> None:
    with LmiRie(tmp_path, "lmi_fns.async_rendezvous", FUNCTIONS, LAMBDALOOP, concurrency=32, deps=lmi_deps) as rie:
        answers = rie.invoke_concurrently([b'{"count": 32}'] * 32)
        processes = rie.runtime_pids()
    logs = rie.logs()
    assert [a.status for a in answers] == [200] * 32, [a.body for a in answers][:3]
    assert all(a.error_type is None for a in answers), [a.body for a in answers if a.error_type][:3]
    bodies = [a.json() for a in answers]
    assert [b["request_id"] for b in bodies] == [a.request_id for a in answers]  # type: ignore[index]
    # The supervisor and one process per usable CPU, not 32 processes.
    assert len(processes) == 1 + min(_cpus(), 32), processes
    assert len({b["pid"] for b in bodies}) <= _cpus()  # type: ignore[index]
    # Each record names its own invocation (the LMI engine asks for JSON logs).
    records = [json.loads(m) for m in re.findall(r'\{"timestamp": [^\n]*"logger": "lmi"[^\n]*\}', logs)]
    assert len(records) == 64, logs[-2000:]
    assert all(r["message"] == f"tag={r['requestId']} {r['message'].split()[-1]}" for r in records)
    assert {r["requestId"] for r in records} == {a.request_id for a in answers}
    assert "Traceback" not in logs, logs[-3000:]


def test_a_crashed_process_has_every_invocation_it_served_answered(tmp_path: Path, lmi_deps: Deps) -> None:
    env = {"LAMBDALOOP_SIGTERM": "0"}
    handler = "lmi_fns.async_rendezvous"
    with LmiRie(tmp_path, handler, FUNCTIONS, LAMBDALOOP, concurrency=4, env=env, deps=lmi_deps) as rie:
        # The invocation whose id ends in "0" kills its whole process once all 4 are in flight.
        payloads = [json.dumps({"count": 4, "die": "0"}).encode()] * 4
        ids = [f"00000000-0000-0000-0000-00000000000{i}" for i in range(4)]
        results: list = []

        def one(i: int) -> None:
            results.append(rie.invoke(payloads[i], request_id=ids[i]))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        by_id = {r.request_id: r for r in results}
        assert by_id[ids[0]].error_type == "Runtime.ExitError", by_id[ids[0]].body
        # Its process-mates were answered with the same at once (not left to time out); the
        # other process's invocations got their results.
        assert all(r.status == 200 for r in results)
        assert {r.error_type for r in results} <= {None, "Runtime.ExitError"}, [r.body for r in results]
        # The environment serves on (the replacement, or the other process). An invoke the RIE
        # had already handed to a /next of the dead process (its other slot may have been
        # polling again when it died) is failed by the RIE itself: the next one is served.
        for _ in range(5):
            after = rie.invoke(b'{"count": 0}')
            if after.status == 200 and after.error_type is None:
                break
            time.sleep(0.5)
        assert after.status == 200 and after.error_type is None, after.body
        logs = rie.logs()
    assert "starting a replacement" in logs


def test_sigterm_ends_every_process_of_the_async_model(tmp_path: Path, lmi_deps: Deps) -> None:
    with LmiRie(tmp_path, "lmi_fns.async_rendezvous", FUNCTIONS, LAMBDALOOP, concurrency=8, deps=lmi_deps) as rie:
        answers = rie.invoke_concurrently([b'{"count": 0}'] * 8)
        assert [a.status for a in answers] == [200] * 8
        assert len(rie.runtime_pids()) == 1 + min(_cpus(), 8)
        status = rie.terminate()
        left = rie.survivors()
        logs = rie.logs()
    assert status == 0, logs[-3000:]
    assert left == []
    assert "Traceback" not in logs, logs[-3000:]
