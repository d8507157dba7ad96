"""aws-xray-sdk in Lambda mode through the real loop, compared with awslambdaric.

The SDK reads ``_X_AMZN_TRACE_ID`` from ``os.environ`` on every access, so the runtime must
set it from ``Lambda-Runtime-Trace-Id`` before each invoke and clear it when there is none.
The emulator passes the invoker's ``X-Amzn-Trace-Id`` (the classic RIE drops it). Where Linux
mount namespaces are available the function runs as on Lambda: read-only task root, an empty
writable ``/tmp`` of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import FUNCTIONS, RUNTIMES, Functions, Session, UdpCollector

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("aws_xray_sdk", reason="aws-xray-sdk is not installed (pip install -e '.[compat]')")

SAMPLED = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
NOT_SAMPLED = "Root=1-67891233-abcdef012345678912345678;Parent=1234567890abcdef;Sampled=0"
EVENTS: list[Any] = [
    ({"id": "a"}, {"X-Amzn-Trace-Id": SAMPLED}),
    ({"id": "b"}, {"X-Amzn-Trace-Id": NOT_SAMPLED}),
    {"id": "c"},  # no trace header: the variable must be gone
]

# sh -c SCRIPT TASK_ROOT KEEP... -- COMMAND...: a private, empty /tmp, the task root bound
# read-only on itself, then exec the runtime (same pid, so the emulator still ends it). What
# lives under the host's /tmp and must stay visible (the task root, a checkout or venv under
# /tmp) is bound back at its own path, from the old /tmp held at /mnt for the moment.
READ_ONLY = r"""
set -e
task=$0
mount --bind /tmp /mnt
mount -t tmpfs tmpfs /tmp
while [ "$1" != -- ]; do
    case $1 in
        /tmp/*) mkdir -p "$1"; mount --rbind "/mnt${1#/tmp}" "$1" ;;
    esac
    shift
done
shift
umount -l /mnt
mount --bind "$task" "$task"
mount -o remount,bind,ro "$task"
exec "$@"
"""


def lambda_like_sandbox(task_root: Path) -> tuple[list[str] | None, str]:
    if not Path("/mnt").is_dir():
        return None, "no /mnt to hold the host's /tmp while the private one is mounted"
    keep = sorted({str(task_root), str(ROOT), sys.prefix, sys.base_prefix, os.path.realpath(sys.executable)})
    wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c", READ_ONLY, str(task_root), *keep, "--"]
    try:
        probe = subprocess.run([*wrap, "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"unshare is unavailable: {exc}"
    if probe.returncode != 0:
        return None, f"cannot make a mount namespace here (`unshare --mount` failed): {probe.stderr.strip()}"
    return wrap, ""


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The function's code, copied: the handler probes whether it can write to its task root,
    and a probe that succeeds (no sandbox) must not land in the work tree."""
    root = tmp_path_factory.mktemp("xray-task") / "task"
    root.mkdir()
    shutil.copy2(FUNCTIONS / "xray_app.py", root / "xray_app.py")
    return root


@pytest.fixture(scope="module")
def sandbox(task_root: Path) -> tuple[list[str] | None, str]:
    return lambda_like_sandbox(task_root)


@pytest.fixture(scope="module")
def collector() -> Iterator[UdpCollector]:
    udp = UdpCollector()
    try:
        yield udp
    finally:
        udp.close()


@pytest.fixture(scope="module")
def sessions(
    functions: Functions, collector: UdpCollector, sandbox: tuple[list[str] | None, str], task_root: Path
) -> dict[str, tuple[Session, list[dict[str, Any]]]]:
    """Each runtime's session, with the subsegments the daemon address received during it."""
    out = {}
    for runtime in RUNTIMES:
        env = {"AWS_XRAY_DAEMON_ADDRESS": collector.address}
        session = functions.session("xray_app.handler", runtime, EVENTS, env, wrap=sandbox[0], task_root=task_root)
        time.sleep(0.2)  # UDP: let the collector's thread read what was sent
        subsegments = [json.loads(d.split(b"\n", 1)[1]) for d in collector.datagrams]
        collector.datagrams.clear()
        out[runtime] = (session, subsegments)
    return out


def test_facade_segment_follows_the_trace_header(sessions: dict[str, tuple[Session, list[dict[str, Any]]]]) -> None:
    ours, _ = sessions["lambdaloop"]
    theirs, _ = sessions["awslambdaric"]
    assert [c.result for c in ours.calls] == [c.result for c in theirs.calls]
    first, second, third = (c.result for c in ours.calls)
    assert first["trace_env"] == SAMPLED
    assert (first["segment"], first["trace_id"], first["parent_id"], first["sampled"]) == (
        "FacadeSegment",
        "1-5759e988-bd862e3fe1be46a994272793",
        "53995c3f42cd8ad8",
        True,
    )
    assert (second["trace_id"], second["sampled"]) == ("1-67891233-abcdef012345678912345678", False)
    # No header: the variable is removed, as awslambdaric does. (The SDK then keeps its last
    # facade rather than making a dummy one: its own behaviour, the same under both.)
    assert third["trace_env"] is None
    assert [r["value"] for r in (first, second, third)] == ["A", "B", "C"]


def test_subsegments_reach_the_daemon_address(sessions: dict[str, tuple[Session, list[dict[str, Any]]]]) -> None:
    _, ours = sessions["lambdaloop"]
    _, theirs = sessions["awslambdaric"]
    shape = [(s["name"], s["trace_id"], s.get("annotations")) for s in ours]
    assert shape == [(s["name"], s["trace_id"], s.get("annotations")) for s in theirs]
    # Only the sampled invoke sends: "work" nested in "lookup", "lookup" under the facade.
    by_name = {s["name"]: s for s in ours}
    assert sorted(by_name) == ["lookup", "work"]
    assert by_name["lookup"]["parent_id"] == "53995c3f42cd8ad8"
    assert by_name["lookup"]["annotations"] == {"order": "a"}
    assert by_name["work"]["parent_id"] == by_name["lookup"]["id"]
    assert {s["trace_id"] for s in ours} == {"1-5759e988-bd862e3fe1be46a994272793"}


def test_read_only_task_root_and_private_tmp(
    sessions: dict[str, tuple[Session, list[dict[str, Any]]]], sandbox: tuple[list[str] | None, str]
) -> None:
    if sandbox[0] is None:
        pytest.skip(sandbox[1])
    for runtime in RUNTIMES:
        session, _ = sessions[runtime]
        for c in session.calls:
            assert c.result["task_root_writable"] is False, (
                f"{runtime}: the sandbox did not make the task root read-only"
            )
            # The SDK signalled its initialisation in the (fresh, private) /tmp.
            assert c.result["touch_file"] is True, runtime
        assert "Unable to write to /tmp/.aws-xray" not in session.text()
