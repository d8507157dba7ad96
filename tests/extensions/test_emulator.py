"""Extensions end to end on lambdaloop's own emulator: real runtime and extension processes,
real sockets. The emulator plays RAPID (registration rules, INVOKE/SHUTDOWN delivery,
SIGTERM then SIGKILL, the Telemetry API), and unlike the classic RIE it needs no root and
supports telemetry."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdaloop.extensions import wire
from lambdaloop.extensions.client import ExtensionsClient
from lambdaloop.extensions.events import ExtensionAPIError

from .helpers import FUNCTIONS, install_extension, kinds, read_records

emulator = pytest.importorskip("lambdaloop.emulator", reason="the built-in emulator is not available")
from lambdaloop.emulator.client import invoke  # noqa: E402


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.ext_dir = tmp_path / "opt-extensions"
        self.ext_dir.mkdir()
        self.function_out = tmp_path / "function.jsonl"

    def function_records(self) -> list[dict[str, object]]:
        return read_records(self.function_out)

    def extension_records(self, name: str) -> list[dict[str, object]]:
        return read_records(self.dir / f"{name}.jsonl")

    def wait_function(self, kind: str, count: int = 1, timeout: float = 10.0) -> None:
        """after_invoke runs after the response is posted, so the invoker can see the answer
        first; shutting down before it ran would be a test race, not the behaviour under test."""
        stop = time.monotonic() + timeout
        while kinds(self.function_records()).count(kind) < count:
            assert time.monotonic() < stop, f"no {kind} record after {timeout} s: {self.function_records()}"
            time.sleep(0.01)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@contextlib.contextmanager
def running(env: Env, handler: str = "extfns.echo", timeout_s: float = 10, **extra: str) -> Iterator[object]:
    config = emulator.EmulatorConfig(
        handler=handler,
        task_root=str(FUNCTIONS),
        extensions_dir=str(env.ext_dir),
        timeout_s=timeout_s,
        env={"EXT_TEST_DIR": str(env.dir), "EXT_TEST_OUT": str(env.function_out), **extra},
    )
    # The context manager ends every process it started, also when the test fails.
    with emulator.BackgroundEmulator(config) as emu:
        yield emu


def platform_extensions(emu: object) -> dict[str, list[str]]:
    """What the emulator's telemetry hub saw registered: name -> events."""
    return {
        r["record"]["name"]: r["record"]["events"]  # type: ignore[index]
        for r in emu.telemetry  # type: ignore[attr-defined]
        if r.get("type") == "platform.extension"
    }


def test_external_extension_gets_invoke_shutdown_and_parsed_telemetry(env: Env) -> None:
    install_extension(env.ext_dir, "recorder-ext")
    with running(env, EXT_TELEMETRY="1", EXT_ASYNC_SHUTDOWN="1") as emu:
        ids = []
        for i in range(2):
            result = invoke(emu.invoke_address, b'{"n": %d}' % i, timeout=20)
            assert result.status == 200 and result.body == b'{"n": %d}' % i
            ids.append(next(r["request_id"] for r in reversed(env.function_records()) if r["kind"] == "before_invoke"))
        time.sleep(0.3)  # one telemetry buffering period (25 ms) and then some
    records = env.extension_records("recorder-ext")
    registered = records[0]
    assert registered["kind"] == "registered"
    assert registered["function_name"] == "test_function" and registered["handler"] == "extfns.echo"
    assert registered["account_id"]  # asked for with Lambda-Extension-Accept-Feature: accountId
    assert [r["request_id"] for r in records if r["kind"] == "invoke"] == ids
    shutdown = next(r for r in records if r["kind"] == "shutdown")
    assert shutdown["reason"] == str(shutdown["raw"]).lower() and shutdown["mode"] == "async"
    assert 0 < int(shutdown["remaining_ms"]) <= 2000
    assert kinds(records)[-2:] == ["shutdown_done", "exited"]
    telemetry = [r for r in records if r["kind"] == "telemetry"]
    reports = [r for r in telemetry if r["type"] == "platform.report"]
    assert [r["request_id"] for r in reports] == ids
    assert all(isinstance(r["duration_ms"], float) and r["billed"] >= 1 and r["memory"] > 0 for r in reports)
    assert [r["request_id"] for r in telemetry if r["type"] == "platform.start"] == ids
    assert {"function says {'n': 0}", "function says {'n': 1}"} <= {r.get("message") for r in telemetry}


def test_sigterm_extension_runs_on_shutdown_hooks_then_the_users_handler(env: Env) -> None:
    with running(env, EXT_TEST_USER_SIGTERM="1") as emu:
        assert invoke(emu.invoke_address, b"{}", timeout=20).status == 200
        env.wait_function("after_invoke")
        assert platform_extensions(emu) == {"lambdaloop-sigterm": []}
    records = env.function_records()
    # after_invoke (it runs after the response was posted), then at SIGTERM the hooks, then
    # the handler the user installed at import (chained, not replaced), then a clean
    # interpreter exit (atexit ran: not SIGKILL).
    assert kinds(records) == [
        "before_invoke", "after_invoke", "on_shutdown_start", "on_shutdown_end", "user_sigterm", "atexit",
    ]  # fmt: skip


def test_without_the_sigterm_extension_the_runtime_is_killed(env: Env) -> None:
    with running(env, LAMBDALOOP_SIGTERM="0") as emu:
        assert invoke(emu.invoke_address, b"{}", timeout=20).status == 200
        env.wait_function("after_invoke")
        assert platform_extensions(emu) == {}
    assert kinds(env.function_records()) == ["before_invoke", "after_invoke"]  # no hooks, no atexit


def test_on_shutdown_hooks_that_overrun_the_budget_are_abandoned(env: Env) -> None:
    with running(env, EXT_TEST_SHUTDOWN_SLEEP="30", EXT_TEST_USER_SIGTERM="1") as emu:
        assert invoke(emu.invoke_address, b"{}", timeout=20).status == 200
        env.wait_function("after_invoke")
        started = time.monotonic()
    elapsed = time.monotonic() - started
    records = env.function_records()
    assert kinds(records)[2:] == ["on_shutdown_start", "user_sigterm", "atexit"]
    assert elapsed < 2.0
    sigterm_at = records[2]["t"]
    # The 400 ms budget, then on with the exit; atexit ran, so it beat the SIGKILL at 500 ms.
    assert records[3]["t"] - sigterm_at >= 0.35
    assert any("exiting without them" in line.line for line in emu.logs)  # type: ignore[attr-defined]


def test_modules_from_lambdaloop_extensions_register_as_internal_extensions(env: Env) -> None:
    with running(env, LAMBDALOOP_EXTENSIONS="exthooks, plainhooks") as emu:
        answers = [invoke(emu.invoke_address, b"{}", timeout=20) for _ in range(2)]
        assert all(r.status == 200 for r in answers)
        seen = platform_extensions(emu)
        env.wait_function("plain_after", 2)
    # Declared extensions keep their name and events; a module that only used hooks is
    # registered under its module name; no extra SIGTERM extension is needed then.
    assert seen == {"test-apm": ["INVOKE"], "plainhooks": []}
    records = env.function_records()
    before = [r["request_id"] for r in records if r["kind"] == "before_invoke"]
    assert [r["request_id"] for r in records if r["kind"] == "apm_before"] == before
    assert sorted(r["request_id"] for r in records if r["kind"] == "internal_invoke") == sorted(before)
    assert kinds(records).count("plain_after") == 2
    assert "on_shutdown_start" in kinds(records)  # SIGTERM came: registered extensions bought it


def test_a_broken_extension_module_fails_init(env: Env) -> None:
    with running(env, LAMBDALOOP_EXTENSIONS="brokenext") as emu:
        result = invoke(emu.invoke_address, b"{}", timeout=20)
    assert result.function_error is not None
    assert b"broken on purpose" in result.body
    # Extension modules load before the handler's module (so agents can instrument what it
    # imports): init stopped before the handler was even imported, and before any invoke.
    assert kinds(env.function_records()) == []


def test_an_extension_that_overruns_shutdown_is_ended(env: Env) -> None:
    install_extension(env.ext_dir, "slow-ext")
    with running(env, EXT_SHUTDOWN_SLEEP="30") as emu:
        assert invoke(emu.invoke_address, b"{}", timeout=20).status == 200
        started = time.monotonic()
    elapsed = time.monotonic() - started
    assert kinds(env.extension_records("slow-ext"))[-1] == "shutdown"  # never reached shutdown_done
    assert elapsed < 3.5  # the 2 s budget, then SIGKILL


def test_init_error_from_an_extension_fails_the_invoke(env: Env) -> None:
    install_extension(env.ext_dir, "failing-ext")
    with running(env, EXT_INIT_ERROR="1") as emu:
        result = invoke(emu.invoke_address, b"{}", timeout=20)
    assert result.function_error is not None
    assert b"Extension" in result.body, result.body  # the invoke fails with the extension's error
    # The platform fails the invoke the moment it has the extension's init/error and ends the
    # environment; the extension may be gone before it records the answer to its post.
    records = kinds(env.extension_records("failing-ext"))
    assert records[:1] == ["registered"] and set(records) <= {"registered", "init_error_posted"}


def test_registration_errors(env: Env) -> None:
    install_extension(env.ext_dir, "recorder-ext")
    with running(env) as emu:
        address = emu.emulator.runtime_api  # type: ignore[attr-defined]
        # A name that is not an executable in the extensions directory is internal, and
        # internal extensions may not ask for SHUTDOWN.
        clients = [ExtensionsClient(address) for _ in range(3)]
        with pytest.raises(ExtensionAPIError) as info:
            clients[0].register("no-such-file", ["SHUTDOWN"])
        assert (info.value.status, info.value.error_type) == (403, "Extension.InvalidEventType")
        # Names and event types our client refuses itself are refused by the platform too.
        raw = clients[1]
        bad_name = wire.head("POST", wire.REGISTER_PATH, address, [(wire.H_NAME, "")], b'{"events":[]}')
        with pytest.raises(ExtensionAPIError) as info:
            wire.parse_register(*_send(raw, bad_name))
        assert info.value.error_type == "Extension.InvalidExtensionName"
        bad_events = wire.head("POST", wire.REGISTER_PATH, address, [(wire.H_NAME, "x")], b'{"events":["START"]}')
        with pytest.raises(ExtensionAPIError) as info:
            wire.parse_register(*_send(raw, bad_events))
        assert info.value.error_type == "Extension.InvalidEventType"
        assert invoke(emu.invoke_address, b"{}", timeout=20).status == 200
        # The runtime has called /next: registration is closed.
        with pytest.raises(ExtensionAPIError) as info:
            clients[2].register("late-ext", [])
        assert (info.value.status, info.value.error_type) == (403, "Extension.RegistrationClosed")
        for client in clients:
            client.close()


def _send(client: ExtensionsClient, request: bytes) -> tuple[int, dict[str, str], bytes]:
    response = client.connection.request(request)
    return response.status, response.headers, response.body
