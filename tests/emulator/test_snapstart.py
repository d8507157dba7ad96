"""SnapStart through the built-in emulator, end to end: a real runtime process initialises
once, parks in /restore/next as the snapshot, and each new environment is a restore forked from
it (lambdaloop) or the runtime carrying on in place (a runtime that does not fork)."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from lambdaloop.emulator import client
from lambdaloop.emulator.app import BackgroundEmulator

from .conftest import AWSLAMBDARIC, CORPUS, LAMBDALOOP, emulator

HOOKS_IN_ORDER = ["before-2", "before-1", "after-1", "after-2"]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The folder whose files make the function's hooks fail or hang (see snapstart_fn.py)."""
    return tmp_path


def snapstart(
    state: Path, command: list[str] = LAMBDALOOP, env: dict[str, str] | None = None, **overrides: object
) -> AbstractContextManager[BackgroundEmulator]:
    env = {"SNAPSTART_STATE": str(state), **(env or {})}
    return emulator("snapstart_fn.handler", command, snapstart=True, env=env, **overrides)


def invoke(emu: BackgroundEmulator, event: object = None) -> client.InvokeResult:
    result = client.invoke(emu.invoke_address, json.dumps(event or {}).encode())
    emu.wait_idle()
    return result


def platform_lines(emu: BackgroundEmulator, prefix: str) -> list[str]:
    return [log.line for log in emu.logs if log.source == "platform" and log.line.startswith(prefix)]


def alive(pid: int) -> bool:
    """Running (a zombie waiting for the snapshot to reap it counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_restores_start_from_one_snapshot_and_run_the_hooks_in_order(state: Path) -> None:
    with snapstart(state) as emu:
        first = json.loads(invoke(emu).body)
        emu.retire()
        second = json.loads(invoke(emu).body)
        inits = platform_lines(emu, "INIT_REPORT")
        restores = platform_lines(emu, "RESTORE_REPORT")
        reports = platform_lines(emu, "REPORT")
    # Before-snapshot hooks once (LIFO), in the initialised process; after-restore hooks (FIFO)
    # in each restored one, which starts from the snapshot's memory.
    assert first["events"] == second["events"] == HOOKS_IN_ORDER
    assert first["token"] == second["token"] and first["init_pid"] == second["init_pid"]
    assert len({first["pid"], second["pid"], first["init_pid"]}) == 3
    # The runtime reseeds `random` at each restore: the same snapshot, different numbers.
    assert first["random"] != second["random"]
    assert first["init_type"] == "snap-start" and first["log_stream"] is None
    assert len(inits) == 1 and "Status: success" in inits[0]
    assert len(restores) == 2
    assert all(re.fullmatch(r"RESTORE_REPORT Restore Duration: \d+\.\d\d ms", line) for line in restores)
    for line in reports:
        assert re.search(r"\tRestore Duration: \d+\.\d\d ms\tBilled Restore Duration: \d+ ms\t$", line), line
        assert "Init Duration" not in line


def test_an_environment_restored_once_serves_warm_invokes_without_a_restore(state: Path) -> None:
    with snapstart(state) as emu:
        first = json.loads(invoke(emu).body)
        second = json.loads(invoke(emu).body)
        reports = platform_lines(emu, "REPORT")
    assert first["pid"] == second["pid"]
    assert second["events"] == HOOKS_IN_ORDER  # no second restore: the hooks ran once
    assert "Restore Duration" in reports[0] and "Restore Duration" not in reports[1]


def test_a_failing_before_snapshot_hook_fails_the_init(state: Path) -> None:
    (state / "fail-before").touch()
    with snapstart(state) as emu:
        result = invoke(emu)
        logs = [log.line for log in emu.logs]
    assert result.status == 502
    # The body is the runtime's: the exception's own type, as awslambdaric posts it; the
    # SnapStart error type travels in the header, which the platform reports.
    error = json.loads(result.body)
    assert error["errorType"] == "RuntimeError"
    assert "before-snapshot hook failed on purpose" in error["errorMessage"]
    assert any(line.startswith("INIT_REPORT") and "Error Type: Runtime.BeforeSnapshotError" in line for line in logs)
    assert not any(line.startswith("RESTORE_REPORT") for line in logs)


def test_a_failing_after_restore_hook_fails_that_restore_and_the_snapshot_stays(state: Path) -> None:
    (state / "fail-after").touch()
    with snapstart(state) as emu:
        failed = invoke(emu)
        (state / "fail-after").unlink()
        recovered = invoke(emu)
        inits = platform_lines(emu, "INIT_REPORT")
        restores = platform_lines(emu, "RESTORE_REPORT")
    assert failed.status == 502
    error = json.loads(failed.body)
    assert error["errorType"] == "ValueError"
    assert "after-restore hook failed on purpose" in error["errorMessage"]
    assert "Status: error\tError Type: Runtime.AfterRestoreError" in restores[0]
    assert recovered.status == 200 and json.loads(recovered.body)["events"] == HOOKS_IN_ORDER
    assert len(inits) == 1  # the second restore came from the same snapshot


def test_after_restore_hooks_past_the_limit_fail_the_invoke_with_snapstart_timeout(state: Path) -> None:
    (state / "slow-after").touch()
    with snapstart(state, restore_timeout_s=1.0) as emu:
        started = time.monotonic()
        result = invoke(emu)
        took = time.monotonic() - started
        (state / "slow-after").unlink()
        recovered = json.loads(invoke(emu).body)
        restores = platform_lines(emu, "RESTORE_REPORT")
    assert result.status == 408
    assert json.loads(result.body) == {
        "errorType": "SnapStartTimeoutException",
        "errorMessage": "Lambda couldn't restore the snapshot within the timeout limit.",
    }
    assert took < 10  # the hook sleeps 60 s: the restore was cut at its limit
    assert "Status: timeout" in restores[0]
    assert recovered["events"] == HOOKS_IN_ORDER


def test_a_restored_environment_that_dies_is_replaced_by_a_new_restore(state: Path) -> None:
    with snapstart(state) as emu:
        first = json.loads(invoke(emu).body)
        crashed = invoke(emu, {"exit": True})
        after = json.loads(invoke(emu).body)
        inits = platform_lines(emu, "INIT_REPORT")
    assert crashed.status == 502
    assert json.loads(crashed.body)["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert not alive(first["pid"])
    assert after["pid"] != first["pid"] and after["init_pid"] == first["init_pid"]
    assert len(inits) == 1


def test_the_emulator_ends_the_snapshot_and_its_restores(state: Path) -> None:
    with snapstart(state) as emu:
        restored = json.loads(invoke(emu).body)
    assert not alive(restored["pid"]) and not alive(restored["init_pid"])


def test_a_runtime_that_does_not_fork_is_restored_in_place_and_inits_again(state: Path) -> None:
    # lambdaloop told not to fork behaves as any other runtime: it carries on from
    # /restore/next itself, so each new environment needs a new init (and a new snapshot).
    with snapstart(state, env={"_LAMBDALOOP_SNAPSHOT": ""}) as emu:
        first = json.loads(invoke(emu).body)
        emu.retire()
        second = json.loads(invoke(emu).body)
        inits = platform_lines(emu, "INIT_REPORT")
        restores = platform_lines(emu, "RESTORE_REPORT")
    assert first["events"] == second["events"] == HOOKS_IN_ORDER
    assert first["pid"] == first["init_pid"] and second["pid"] == second["init_pid"]
    assert first["token"] != second["token"]
    assert len(inits) == 2 and len(restores) == 2


def test_a_runtime_that_never_calls_restore_next_is_served_as_it_is_with_a_note(state: Path) -> None:
    # As a runtime that ignores SnapStart would (here lambdaloop told it is on-demand).
    with snapstart(state, env={"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}) as emu:
        first = json.loads(invoke(emu).body)
        emu.retire()
        second = json.loads(invoke(emu).body)
        notes = platform_lines(emu, "lambdaloop: the runtime did not call /restore/next")
        inits = platform_lines(emu, "INIT_REPORT")
        restores = platform_lines(emu, "RESTORE_REPORT")
    assert first["events"] == second["events"] == []  # no hooks ran: nothing asked for them
    assert first["token"] != second["token"]  # each environment inited anew
    assert len(notes) == 2 and len(inits) == 2 and restores == []


def test_awslambdaric_runs_the_same_hooks_in_the_same_order(state: Path) -> None:
    with snapstart(state, AWSLAMBDARIC) as emu:
        answer = json.loads(invoke(emu).body)
        restores = platform_lines(emu, "RESTORE_REPORT")
    assert answer["events"] == HOOKS_IN_ORDER
    assert len(restores) == 1


def test_a_failing_after_restore_hook_under_awslambdaric_reads_the_same(state: Path) -> None:
    (state / "fail-after").touch()
    answers = []
    for command in (LAMBDALOOP, AWSLAMBDARIC):
        with snapstart(state, command) as emu:
            result = invoke(emu)
        error = json.loads(result.body)
        answers.append((result.status, error["errorType"], error["errorMessage"]))
    assert answers[0] == answers[1]


def test_the_restore_shows_in_telemetry(state: Path) -> None:
    with snapstart(state) as emu:
        invoke(emu)
        records = {record["type"]: record["record"] for record in emu.telemetry}
    assert records["platform.initStart"]["initializationType"] == "snap-start"  # type: ignore[index]
    assert records["platform.restoreRuntimeDone"] == {"status": "success"}
    restore_ms = records["platform.restoreReport"]["metrics"]["durationMs"]  # type: ignore[index]
    metrics = records["platform.report"]["metrics"]  # type: ignore[index]
    assert metrics["restoreDurationMs"] == restore_ms and "initDurationMs" not in metrics


def test_restore_routes_are_not_served_without_snapstart() -> None:
    with emulator("funcs.echo", LAMBDALOOP) as emu:
        host, port = emu.emulator.runtime_api.split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET /2018-06-01/runtime/restore/next HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 404 ")


# ---- the uniqueness check ------------------------------------------------------------------


@pytest.fixture
def peer() -> Iterator[int]:
    """A TCP listener for the functions' connections (the kernel accepts them into its backlog)."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield server.getsockname()[1]


def restore_twice(peer: int, good: bool) -> list[str]:
    env = {"SNAPSTART_PEER_PORT": str(peer), "SNAPSTART_GOOD": "1" if good else "0"}
    with emulator("snapstart_unique.handler", LAMBDALOOP, snapstart=True, env=env) as emu:
        answers = []
        for number in range(2):
            if number:
                emu.retire()
            result = invoke(emu)
            assert result.status == 200, result.body
            answers.append(json.loads(result.body))
        printed = platform_lines(emu, "lambdaloop SnapStart uniqueness: ")
        warnings = list(emu.uniqueness_warnings)
    assert [f"lambdaloop SnapStart uniqueness: {w}" for w in warnings] == printed
    # What the warnings are about is real: the bad function's restores share their values.
    assert (answers[0] == answers[1]) is (not good)
    return warnings


def test_the_uniqueness_check_names_state_every_restore_shares(peer: int) -> None:
    warnings = restore_twice(peer, good=False)
    assert len(warnings) == 4, warnings
    text = "\n".join(warnings)
    assert "snapstart_unique.RNG (Random) is in the same state in restores 1 and 2" in text
    assert "snapstart_unique.INSTANCE_ID is a uuid4 made at init" in text
    assert f"snapstart_unique.CONNECTION (connected to 127.0.0.1:{peer}) was opened before the snapshot" in text
    assert "static AWS credentials resolved at init" in text
    assert "AKIDEXAMPLE" not in text and "not-a-secret" not in text


def test_the_uniqueness_check_is_silent_for_a_function_that_refreshes_after_restore(peer: int) -> None:
    assert restore_twice(peer, good=True) == []


def test_the_check_leaves_its_files_nowhere_after_the_emulator_ends(peer: int) -> None:
    env = {"SNAPSTART_PEER_PORT": str(peer)}
    with emulator("snapstart_unique.handler", LAMBDALOOP, snapstart=True, env=env) as emu:
        invoke(emu)
        folder = emu.emulator.sandbox.snapshot.probe_dir()
        assert os.listdir(folder)
    assert not os.path.exists(folder)


def test_a_reported_pid_that_is_not_the_runtimes_child_is_never_signalled() -> None:
    # The bogus pid is the emulator's own process: had it been taken as the restored
    # environment, the teardown would have killed this test.
    with emulator("x.handler", [sys.executable, str(CORPUS / "snapstart_raw.py")], snapstart=True) as emu:
        result = invoke(emu)
    assert result.status == 200 and result.function_error == "Unhandled"
    assert json.loads(result.body)["errorType"] == "Emulator.SnapStartUnsupported"


def test_a_snapshot_process_that_dies_at_the_restore_fails_it_with_its_exit_status() -> None:
    command = [sys.executable, str(CORPUS / "snapstart_raw.py")]
    with emulator("x.handler", command, snapstart=True, env={"RAW_MODE": "die"}) as emu:
        result = invoke(emu)
        restores = platform_lines(emu, "RESTORE_REPORT")
    assert result.status == 502
    assert json.loads(result.body) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "Runtime exited with error: exit status 9",
    }
    assert "Status: error" in restores[0]
