"""Extensions against AWS's own RIE (classic mode): the reference for registration rules,
INVOKE/SHUTDOWN delivery and SIGTERM at shutdown. Each scenario runs ``rie_driver.py`` in a
private mount + PID namespace (root needed: the RIE only reads ``/opt/extensions``), so
every process it started dies with it, whatever happens."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("rie_driver.py")
UNSHARE = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private"]


@functools.cache
def why_not() -> str | None:
    if sys.platform != "linux":
        return "the RIE and mount namespaces need Linux"
    if os.geteuid() != 0:
        return "needs root for a private mount namespace (tmpfs over /opt for /opt/extensions)"
    if shutil.which("unshare") is None:
        return "needs util-linux unshare"
    probe = subprocess.run([*UNSHARE, "mount", "-t", "tmpfs", "tmpfs", "/opt"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        return f"cannot create a mount namespace here: {probe.stderr.decode(errors='replace').strip()}"
    return None


@functools.cache
def rie_path() -> str:
    from lambdaloop.rie import RieUnavailable, ensure_rie

    try:
        return str(ensure_rie())
    except RieUnavailable as exc:
        pytest.skip(f"the RIE is not available: {exc}")


def run_scenario(name: str, tmp_path: Path) -> dict:
    reason = why_not()
    if reason:
        pytest.skip(reason)
    tmp_path.chmod(0o777)
    command = [*UNSHARE, sys.executable, str(DRIVER), rie_path(), str(tmp_path), name]
    # On timeout, subprocess kills unshare; --kill-child takes the namespace's PID 1 with it,
    # and the kernel ends every other process of the namespace.
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def kinds(records: list[dict]) -> list[str]:
    return [r["kind"] for r in records]


def test_external_extension_and_sigterm_to_the_runtime(tmp_path: Path) -> None:
    result = run_scenario("external", tmp_path)
    assert [i["status"] for i in result["invokes"]] == [200, 200], result["rie_log"]
    ext = result["extensions"]["recorder-ext"]
    # Under a name that is not its file, an extension is internal: SHUTDOWN is refused.
    assert ext[0]["kind"] == "wrong_name_refused"
    assert (ext[0]["status"], ext[0]["error_type"]) == (403, "Extension.InvalidEventType")
    assert ext[1]["kind"] == "registered" and ext[1]["function_name"] == "test_function"
    fn = result["function"]
    before = [r["request_id"] for r in fn if r["kind"] == "before_invoke"]
    assert [r["request_id"] for r in ext if r["kind"] == "invoke"] == before and len(before) == 2
    shutdown = next(r for r in ext if r["kind"] == "shutdown")
    assert shutdown["reason"] == shutdown["raw"].lower() and 0 < shutdown["remaining_ms"] <= 2000
    assert kinds(ext)[-2:] == ["shutdown_done", "exited"]
    assert kinds(fn)[4:] == ["on_shutdown_start", "on_shutdown_end", "user_sigterm", "atexit"]
    assert result["late_register"]["status"] == 403
    assert "Extension.RegistrationClosed" in result["late_register"]["body"]
    assert result["rie_exit"] == 0


def test_internal_sigterm_extension_alone_gets_sigterm(tmp_path: Path) -> None:
    result = run_scenario("internal", tmp_path)
    assert [i["status"] for i in result["invokes"]] == [200, 200], result["rie_log"]
    assert "Internal agent lambdaloop-sigterm" in result["rie_log"]
    # Without our internal extension the RIE SIGKILLs the runtime: no hooks, no atexit.
    assert kinds(result["function"])[4:] == ["on_shutdown_start", "on_shutdown_end", "user_sigterm", "atexit"]


def test_an_extension_that_overruns_shutdown_is_ended(tmp_path: Path) -> None:
    result = run_scenario("overrun", tmp_path)
    assert [i["status"] for i in result["invokes"]] == [200, 200], result["rie_log"]
    assert kinds(result["extensions"]["slow-ext"])[-1] == "shutdown"  # killed in its handler
    assert result["rie_exit"] == 0
    assert 1.5 < result["shutdown_s"] < 4.0  # the 2 s budget, then SIGKILL


def test_classic_rie_refuses_telemetry_and_the_extension_says_so(tmp_path: Path) -> None:
    result = run_scenario("telemetry", tmp_path)
    ext = result["extensions"]["telemetry-ext"]
    # 202 Telemetry.NotSupported is not a success: the subscription fails at register time,
    # the extension posts init/error and exits, and the RIE fails init (again at each invoke).
    assert ext and {r["kind"] for r in ext} == {"register_failed"}
    assert {r["error_type"] for r in ext} == {"Telemetry.NotSupported"}
    # The RIE files a posted init/error as Extension.InitError (a plain exit would be Extension.Crash).
    assert "First fatal error stored in appctx: Extension.InitError" in result["rie_log"], result["rie_log"]
