"""SnapStart's order and failures with a fake client, and the reseeding at a restore."""

from __future__ import annotations

import random
import sys
import types
from typing import Any

import pytest

from lambdaloop import snapstart
from lambdaloop.protocol import ProtocolError


class Client:
    def __init__(self, fail_restore_next: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail_restore_next

    def restore_next(self) -> None:
        self.calls.append("restore_next")
        if self.fail:
            raise ProtocolError("/restore/next answered HTTP 500")

    def reset(self) -> None:
        self.calls.append("reset")


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    registered: dict[str, list[Any]] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py")
    module.get_before_snapshot = lambda: registered["before"]  # type: ignore[attr-defined]
    module.get_after_restore = lambda: registered["after"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return registered


def test_hooks_run_in_order_around_the_restore(hooks: dict[str, list[Any]]) -> None:
    order: list[str] = []
    client = Client()
    hooks["before"] += [(order.append, ("before-1",), {}), (order.append, ("before-2",), {})]
    hooks["after"] += [(lambda: order.append(f"after-1 {client.calls}"), (), {}), (order.append, ("after-2",), {})]
    assert snapstart.snapshot_and_restore(client) is None  # type: ignore[arg-type]
    # Before-snapshot LIFO, after-restore FIFO, the connection dropped before the after hooks.
    assert order == ["before-2", "before-1", "after-1 ['restore_next', 'reset']", "after-2"]


def test_failures_are_reported_with_their_exit_status(hooks: dict[str, list[Any]]) -> None:
    hooks["before"].append((lambda: 1 / 0, (), {}))
    failure = snapstart.snapshot_and_restore(Client())  # type: ignore[arg-type]
    assert failure is not None and (failure.error_type, failure.exit_code) == ("Runtime.BeforeSnapshotError", 64)
    assert not failure.after_restore
    hooks["before"].clear()
    failure = snapstart.snapshot_and_restore(Client(fail_restore_next=True))  # type: ignore[arg-type]
    assert failure is not None and failure.exit_code == 64
    hooks["after"].append((lambda: 1 / 0, (), {}))
    failure = snapstart.snapshot_and_restore(Client())  # type: ignore[arg-type]
    assert failure is not None and (failure.error_type, failure.exit_code) == ("Runtime.AfterRestoreError", 65)
    assert failure.after_restore and failure.report.body["errorType"] == "ZeroDivisionError"


def test_two_restores_from_one_state_draw_different_random_values(hooks: dict[str, list[Any]]) -> None:
    random.seed(1234)  # the state the "snapshot" holds
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)  # each environment restored from the same memory
        assert snapstart.snapshot_and_restore(Client()) is None  # type: ignore[arg-type]
        draws.append([random.random() for _ in range(4)])
    random.setstate(snapshot)
    unseeded = [random.random() for _ in range(4)]
    assert draws[0] != draws[1] and unseeded not in draws
