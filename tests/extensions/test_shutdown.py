"""The SIGTERM handler's decisions, called directly (the end-to-end path, with real signals,
is in test_emulator and test_rie)."""

from __future__ import annotations

import _signal
import time

import pytest

from lambdaloop import hooks
from lambdaloop.extensions import internal
from lambdaloop.extensions.shutdown import GracefulShutdown, budget_ms, run_hooks_within


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(hooks, "ON_SHUTDOWN", [lambda: seen.append("hook")])
    return seen


def test_hooks_then_the_previous_handler_then_exit(calls: list[str]) -> None:
    handler = GracefulShutdown(lambda signum, frame: calls.append(f"user {signum}"), 400)
    with pytest.raises(SystemExit) as info:
        handler(15, None)
    assert info.value.code == 0
    assert calls == ["hook", "user 15"]
    handler(15, None)  # a second SIGTERM while shutting down does nothing more
    assert calls == ["hook", "user 15"]


def test_default_disposition_exits(calls: list[str]) -> None:
    with pytest.raises(SystemExit):
        GracefulShutdown(_signal.SIG_DFL, 400)(15, None)
    assert calls == ["hook"]


def test_an_ignored_sigterm_stays_ignored(calls: list[str]) -> None:
    GracefulShutdown(_signal.SIG_IGN, 400)(15, None)  # returns: the user chose to ignore it
    assert calls == ["hook"]


def test_a_user_handler_that_exits_decides_the_status(calls: list[str]) -> None:
    def user(signum: int, frame: object) -> None:
        raise SystemExit(3)

    with pytest.raises(SystemExit) as info:
        GracefulShutdown(user, 400)(15, None)
    assert info.value.code == 3


def test_the_budget_is_kept_with_a_hook_that_never_returns() -> None:
    started = time.monotonic()
    assert run_hooks_within([lambda: time.sleep(5)], 0.1) is False
    assert time.monotonic() - started < 0.5
    assert run_hooks_within([lambda: None], 1.0) is True


def test_budget_from_the_environment() -> None:
    assert budget_ms({}) == 400
    assert budget_ms({"LAMBDALOOP_SHUTDOWN_BUDGET_MS": "150"}) == 150
    assert budget_ms({"LAMBDALOOP_SHUTDOWN_BUDGET_MS": "soon"}) == 400


def test_internal_extension_declarations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(internal, "_DECLARED", [])
    apm = internal.InternalExtension("apm")
    assert apm.events == ()
    apm.on_invoke(lambda event: None)
    assert apm.events == ("INVOKE",)  # never SHUTDOWN: the platform refuses it for internals
    with pytest.raises(ValueError, match="already declared"):
        internal.InternalExtension("apm")
    with pytest.raises(ValueError):
        internal.InternalExtension("bad/name")
    monkeypatch.setattr(internal, "_STARTED", True)
    with pytest.raises(RuntimeError, match="registration is closed"):
        internal.InternalExtension("late")
