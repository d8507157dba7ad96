"""lambdaloop through AWS's RIE in its Lambda Managed Instances engine (tests/lmi/rie_lmi.py):
``AWS_LAMBDA_MAX_CONCURRENCY`` set, the runtime run as uid 993 from /var/task/bootstrap,
overlapping invokes. Today's lambdaloop forks one worker per concurrent invocation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rie_lmi import LAMBDALOOP, Deps, LmiRie

FUNCTIONS = Path(__file__).with_name("functions")


def test_concurrent_invocations_each_get_their_own_answer(tmp_path: Path, lmi_deps: Deps) -> None:
    with LmiRie(tmp_path, "lmi_fns.rendezvous", FUNCTIONS, LAMBDALOOP, concurrency=4, deps=lmi_deps) as rie:
        # rendezvous answers only once all 4 are in flight at once: 4 workers, truly concurrent.
        answers = rie.invoke_concurrently([b'{"count": 4}'] * 4)
        runtime = rie.runtime_pids()
    logs = rie.logs()  # once the RIE has ended: it writes what the workers log asynchronously
    assert [a.status for a in answers] == [200] * 4, [a.body for a in answers]
    assert all(a.error_type is None for a in answers), [a.body for a in answers]
    bodies = [a.json() for a in answers]
    # Each answer is its own invocation's, in the runtime's context and the RIE's routing.
    assert [b["request_id"] for b in bodies] == [a.request_id for a in answers]  # type: ignore[index]
    assert len({a.request_id for a in answers}) == 4
    pids = {b["pid"] for b in bodies}  # type: ignore[index]
    assert len(pids) == 4 and pids <= set(runtime)
    assert {(b["uid"], b["cwd"]) for b in bodies} == {(993, "/var/task")}  # type: ignore[index]
    # The supervisor and its 4 workers.
    assert len(runtime) == 5, runtime
    # Each worker's output reaches the platform's log with its own invocation. Searched for,
    # not split by line: the RIE passes each worker's writes through as they come, and
    # print() writes its text and its newline separately, so lines of workers can interleave.
    served = [json.loads(m) for m in re.findall(r'\{"served": "[^"]*", "pid": \d+\}', logs)]
    assert sorted((s["served"], s["pid"]) for s in served) == sorted((b["request_id"], b["pid"]) for b in bodies)  # type: ignore[index]
    assert "Traceback" not in logs, logs[-3000:]


def test_sigterm_ends_every_runtime_process(tmp_path: Path, lmi_deps: Deps) -> None:
    with LmiRie(tmp_path, "lmi_fns.who", FUNCTIONS, LAMBDALOOP, concurrency=4, deps=lmi_deps) as rie:
        answers = rie.invoke_concurrently([b"{}"] * 8)
        assert [a.status for a in answers] == [200] * 8, [a.body for a in answers]
        seen = rie.runtime_pids()
        assert len(seen) == 5, seen  # the supervisor and 4 workers
        status = rie.terminate()
        # Checked the moment the RIE has exited: a worker that outlives its supervisor (an
        # orphan, reparented away from the RIE) would still be here.
        left = rie.survivors()
        logs = rie.logs()
    assert status == 0, logs[-3000:]
    assert left == []
    assert "Traceback" not in logs and "replacement" not in logs, logs[-3000:]


def test_the_orphan_check_sees_a_process_that_escapes(tmp_path: Path, lmi_deps: Deps) -> None:
    """The check above can fail: a runtime that leaves a process in its own session behind."""
    runtime = ("/var/task/leave_orphan.py",)
    with LmiRie(tmp_path, "lmi_fns.who", FUNCTIONS, runtime, concurrency=1, deps=lmi_deps) as rie:
        assert rie.invoke().status == 200
        escaped = [pid for pid in rie.runtime_pids() if _comm(pid) == "sleep"]
        assert len(escaped) == 1
        assert rie.terminate() == 0
        assert rie.survivors() == escaped
    assert rie.survivors() == []  # ended by the harness on exit


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
