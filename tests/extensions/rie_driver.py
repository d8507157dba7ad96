"""Runs one scenario against AWS's RIE (classic mode) and prints what happened as JSON.

Meant to run as PID 1 of a private mount and PID namespace
(``unshare --mount --pid --fork --kill-child --propagation private``): the RIE only looks for
external extensions in the fixed ``/opt/extensions``, so we put a tmpfs over ``/opt`` that
nobody else sees; and when this process ends, the kernel ends every process of the
namespace (RIE, runtime, extensions), whatever happened.

    python rie_driver.py RIE_PATH WORK_DIR SCENARIO
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for "extensions.helpers" and "procs"

from procs import free_port, wait_process_listening

from extensions.helpers import FUNCTIONS, install_extension, read_records

SCENARIOS: dict[str, dict[str, object]] = {
    # name: (extensions to install, environment for every process)
    "external": {"extensions": ["recorder-ext"], "env": {"EXT_TEST_USER_SIGTERM": "1", "EXT_WRONG_NAME_FIRST": "1"}},
    "internal": {"extensions": [], "env": {"EXT_TEST_USER_SIGTERM": "1"}},
    "overrun": {"extensions": ["slow-ext"], "env": {"EXT_SHUTDOWN_SLEEP": "30"}},
    "telemetry": {"extensions": ["telemetry-ext"], "env": {"EXT_TELEMETRY": "1"}},
}


def invoke(port: int, body: bytes) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("POST", "/2015-03-31/functions/function/invocations", body=body)
        response = conn.getresponse()
        return {"status": response.status, "body": response.read().decode("utf-8", "replace")}
    finally:
        conn.close()


def register(api_port: int, name: str, events: list[str]) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=5)
    try:
        conn.request("POST", "/2020-01-01/extension/register", body=json.dumps({"events": events}),
                     headers={"Lambda-Extension-Name": name})  # fmt: skip
        response = conn.getresponse()
        return {"status": response.status, "body": response.read().decode("utf-8", "replace")}
    finally:
        conn.close()


def main() -> None:
    rie, work, scenario = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    spec = SCENARIOS[scenario]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/opt"], check=True)
    for name in spec["extensions"]:  # type: ignore[union-attr]
        install_extension(Path("/opt/extensions"), name)
    invoke_port, api_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_LAMBDA", "_X_AMZN"))}
    env.update({"EXT_TEST_DIR": str(work), "EXT_TEST_OUT": str(work / "function.jsonl"), "PYTHONUNBUFFERED": "1"})
    env.update(spec["env"])  # type: ignore[arg-type]
    log = open(work / "rie.log", "wb")  # noqa: SIM115 - closed in finally
    command = [
        rie, "--runtime-interface-emulator-address", f"127.0.0.1:{invoke_port}",
        "--runtime-api-address", f"127.0.0.1:{api_port}", sys.executable, "-m", "lambdaloop", "extfns.echo",
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=FUNCTIONS, env=env, stdout=log, stderr=subprocess.STDOUT)
    result: dict[str, object] = {"scenario": scenario}
    try:
        wait_process_listening(proc, invoke_port, 5.0)
        result["invokes"] = [invoke(invoke_port, b'{"n": %d}' % i) for i in range(2)]
        result["late_register"] = register(api_port, "late-ext", [])
        # after_invoke runs after the response is posted: let it finish before shutting down.
        answered = sum(i["body"] == f'{{"n": {n}}}' for n, i in enumerate(result["invokes"]))  # type: ignore[arg-type]
        stop = time.monotonic() + 5
        while time.monotonic() < stop:
            if [r["kind"] for r in read_records(work / "function.jsonl")].count("after_invoke") >= answered:
                break
            time.sleep(0.01)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            result["rie_exit"] = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            result["rie_exit"] = "timeout"
        result["shutdown_s"] = round(time.monotonic() - started, 3)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
        log.close()
    result["function"] = read_records(work / "function.jsonl")
    result["extensions"] = {name: read_records(work / f"{name}.jsonl") for name in spec["extensions"]}  # type: ignore[union-attr]
    result["rie_log"] = (work / "rie.log").read_text(errors="replace")[-4000:]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
