"""``lambdaloop invoke HANDLER --durable``, run as a user runs it: a whole durable execution
of ``examples/durable_order.py`` on AWS's local durable service, every invocation through the
real runtime on the emulator, each operation printed as the service records it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from .conftest import REPO

pytest.importorskip(
    "aws_durable_execution_sdk_python_testing",
    reason="the durable execution SDK and its testing package need Python 3.11+ and the compat extra "
    "(pip install -e '.[compat]')",
)

CLI = [sys.executable, "-m", "lambdaloop.cli"]
HANDLER = "examples/durable_order.handler"
PREFIX = "lambdaloop durable: "
PLATFORM = re.compile(r"(START|END|REPORT|INIT_START|INIT_REPORT) ")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "invoke", HANDLER, "--extensions-dir", "", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )


def _durable_lines(stderr: str) -> list[str]:
    """The operations the command printed, without InvocationCompleted (where it falls among
    the others depends on when the history was read)."""
    lines = [line[len(PREFIX) :] for line in stderr.splitlines() if line.startswith(PREFIX)]
    return [line for line in lines if line != "InvocationCompleted"]


def test_readme_command_runs_the_execution_to_its_end() -> None:
    readme = (REPO / "README.md").read_text()
    command = f"""lambdaloop invoke {HANDLER} --durable --event '{{"order": "o-1", "qty": 3}}'"""
    assert command in readme and command in (REPO / "examples" / "durable_order.py").read_text()
    done = _run("--durable", "--event", '{"order": "o-1", "qty": 3}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"order": "o-1", "reservation": "R-o-1", "charged": 36}
    printed = _durable_lines(done.stderr)
    assert printed[0].startswith("execution ")
    assert printed[1:] == [
        "ExecutionStarted",
        "StepStarted  reserve",
        "StepFailed  reserve  RuntimeError: the warehouse did not answer  (attempt 1, retry in 1 s)",
        "StepStarted  reserve",
        'StepSucceeded  reserve  -> "R-o-1"',
        "WaitStarted  hold  3 s",
        "WaitSucceeded  hold",
        "StepStarted  charge",
        "StepSucceeded  charge  -> 36",
        'ExecutionSucceeded  -> {"order": "o-1", "reservation": "R-o-1", "charged": 36}',
    ]
    # Three invocations of one warm runtime process.
    assert done.stderr.count("START RequestId:") == 3
    assert done.stderr.count("Init Duration") == 1


def test_every_line_it_prints_is_the_platform_the_function_or_the_driver() -> None:
    done = _run(
        "--durable", "--skip-waits", "--env", "AWS_LAMBDA_LOG_FORMAT=JSON", "--event", '{"order": "o-2", "qty": 1}'
    )
    assert done.returncode == 0, done.stderr
    for line in done.stderr.splitlines():
        if line.startswith(PREFIX) or PLATFORM.match(line):
            continue
        record = json.loads(line)  # a JSON log record of the function, nothing else
        assert {"timestamp", "level", "message", "requestId"} <= record.keys(), line
    assert done.stdout.count("\n") == 1


def test_a_failed_execution_exits_1_and_says_why() -> None:
    done = _run("--durable", "--skip-waits", "--event", '{"order": "o-3", "qty": 1, "out_of_stock": true}')
    assert done.returncode == 1
    assert done.stdout == ""
    printed = _durable_lines(done.stderr)
    assert [line for line in printed if line.startswith("StepFailed")] == [
        "StepFailed  reserve  RuntimeError: the warehouse did not answer  (attempt 1, retry in 1 s)",
        "StepFailed  reserve  RuntimeError: the warehouse did not answer  (attempt 2, retry in 2 s)",
        "StepFailed  reserve  RuntimeError: the warehouse did not answer  (attempt 3, no retry)",
    ]
    assert done.stderr.rstrip().endswith(
        "lambdaloop: the durable execution ended FAILED "
        "(aws_durable_execution_sdk_python.exceptions.StepError: the warehouse did not answer)"
    )


def test_a_handler_that_is_not_durable_is_named_as_the_cause() -> None:
    done = subprocess.run(
        [*CLI, "invoke", "examples/hello.handler", "--extensions-dir", "", "--durable"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "lambdaloop: the durable execution ended FAILED" in done.stderr
    assert done.stderr.rstrip().endswith("lambdaloop: is the handler decorated with @durable_execution?")


def test_durable_refuses_stream_and_rie() -> None:
    for extra in (["--stream"], ["--rie", "auto"]):
        done = _run("--durable", *extra)
        assert done.returncode == 2, extra
        assert "--durable runs on the built-in emulator" in done.stderr
