"""AWS's durable execution SDK through lambdaloop and through awslambdaric, compared.

A durable execution is several invocations of one function: the SDK checkpoints each step
and wait through the Lambda API, suspends the handler when it must wait (a wait, a retry
delay), and the service invokes the function again later, when the handler replays to where
it stopped. The service here is AWS's own local one (``aws-durable-execution-sdk-python-
testing``, in a child process on 127.0.0.1); it invokes the function through lambdaloop's
emulator, so every invocation runs through the real runtime process, and the function's SDK
checkpoints to it (``AWS_ENDPOINT_URL_LAMBDA``) with the fake credentials of the compat suite.

The function (``functions/durable_app.py``) prices an order in a step, reserves stock in a
step whose first attempt fails and is retried, waits two seconds, and confirms in a third
step: three invocations. The SDK runs the handler, and so its steps, in a worker thread
(``dex-handler_0``); the log records written there must carry the invocation's request id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import RUNTIMES, Functions, Session

pytest.importorskip(
    "aws_durable_execution_sdk_python_testing",
    reason="the durable execution SDK and its testing package need Python 3.11+ and the compat extra "
    "(pip install -e '.[compat]')",
)

from lambdaloop.durable_driver import CheckpointService, Outcome, follow

ORDER = {"order": "o-7", "lines": [{"qty": 2, "unit": 5}, {"qty": 1, "unit": 7}]}
RESULT = {"order": "o-7", "total": 17, "reservation": "R-o-7-2", "status": "confirmed"}
# JSON logs at INFO, so the SDK's own logger (the step context's) shows too.
LOG_ENV = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}

# What the service's history must hold, in order, under both runtimes. Where each
# InvocationCompleted falls among the others depends on timing (the wait's end is stamped
# with its scheduled time), so they are counted, not placed.
OPERATIONS = [
    ("ExecutionStarted", None),
    ("StepStarted", "price"),
    ("StepSucceeded", "price"),
    ("StepStarted", "reserve"),
    ("StepFailed", "reserve"),
    ("StepStarted", "reserve"),
    ("StepSucceeded", "reserve"),
    ("WaitStarted", "cool-off"),
    ("WaitSucceeded", "cool-off"),
    ("StepStarted", "confirm"),
    ("StepSucceeded", "confirm"),
    ("ExecutionSucceeded", None),
]


@pytest.fixture(scope="module")
def service() -> Iterator[CheckpointService]:
    with CheckpointService() as started:
        yield started


@dataclass
class Run:
    outcome: Outcome
    session: Session
    request_ids: list[str]  # of the START lines, in order
    inits: int  # REPORT lines with an Init Duration


def run_execution(functions: Functions, service: CheckpointService, runtime: str, event: dict[str, Any]) -> Run:
    fn = functions.start("durable_app.handler", runtime, {**service.function_env(), **LOG_ENV})
    try:
        arn = service.start_execution(fn.address, json.dumps(event).encode(), timeout_s=120)
        outcome = follow(service, arn, timeout_s=120)
    finally:
        fn.close()
    session = Session(runtime, logs=fn.logs)
    starts = [re.match(r"START RequestId: (\S+)", line) for line in fn.platform_lines]
    inits = sum(line.startswith("REPORT") and "Init Duration" in line for line in fn.platform_lines)
    return Run(outcome, session, [m.group(1) for m in starts if m], inits)


def operations(outcome: Outcome) -> list[tuple[str, str | None]]:
    return [
        (e["EventType"], e.get("Name") if "Execution" not in e["EventType"] else None)
        for e in outcome.events
        if e["EventType"] != "InvocationCompleted"
    ]


def normalised_records(run: Run) -> list[dict[str, Any]]:
    """The function's JSON log records with what differs by nature between two runs (times,
    request ids) replaced by what they stand for (the invocation's number)."""
    number = {rid: n for n, rid in enumerate(run.request_ids, 1)}
    records = []
    for record in run.session.json_logs():
        record = dict(record)
        record.pop("timestamp", None)
        for key in ("requestId", "expectedRequestId"):
            if key in record:
                record[key] = number.get(record[key], f"unknown {record[key]}")
        if "executionArn" in record:
            record["executionArn"] = "<arn>"
        records.append(record)
    return records


@pytest.fixture(scope="module")
def runs(functions: Functions, service: CheckpointService) -> dict[str, Run]:
    return {runtime: run_execution(functions, service, runtime, ORDER) for runtime in RUNTIMES}


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_execution_runs_to_completion_with_a_retry_and_a_wait(runs: dict[str, Run], runtime: str) -> None:
    run = runs[runtime]
    assert run.outcome.status == "SUCCEEDED", (run.outcome.error, run.session.text())
    assert json.loads(run.outcome.result or "null") == RESULT
    assert operations(run.outcome) == OPERATIONS
    failed = next(e for e in run.outcome.events if e["EventType"] == "StepFailed")["StepFailedDetails"]
    assert failed["Error"]["Payload"] == {
        "ErrorType": "durable_app.FlakyWarehouse",
        "ErrorMessage": "warehouse busy, try again",
    }
    assert failed["RetryDetails"] == {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1}
    # One runtime process served all three invocations (a warm environment, as on Lambda).
    assert len(run.request_ids) == 3 == run.outcome.invocations
    assert run.inits == 1


@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_records_from_the_worker_thread_carry_the_request_id(runs: dict[str, Run], runtime: str) -> None:
    run = runs[runtime]
    mine = [r for r in run.session.json_logs() if "expectedRequestId" in r]
    assert [(r["message"], r.get("attempt"), r.get("replaying")) for r in mine] == [
        ("invocation entered", None, False),
        ("pricing", 1, None),  # through the SDK's step logger
        ("reserving", 1, None),
        ("invocation entered", None, True),
        ("reserving", 2, None),
        ("invocation entered", None, True),
        ("confirming", 1, None),
    ]
    for record in mine:
        assert record["writer"].startswith("dex-handler"), record  # not the runtime's main thread
        assert record["requestId"] == record["expectedRequestId"], record
    assert [r["requestId"] for r in mine if r["message"] == "invocation entered"] == run.request_ids
    # The SDK's own record of the failed attempt, written in the same thread, too.
    failure = next(r for r in run.session.json_logs() if r["message"].startswith("❌ failed step"))
    assert failure["requestId"] == run.request_ids[0]
    assert failure["errorType"] == "FlakyWarehouse"


def test_same_history_results_and_log_records_under_both_runtimes(runs: dict[str, Run]) -> None:
    ours, theirs = runs["lambdaloop"], runs["awslambdaric"]
    assert (ours.outcome.status, ours.outcome.result) == (theirs.outcome.status, theirs.outcome.result)
    assert operations(ours.outcome) == operations(theirs.outcome)
    assert normalised_records(ours) == normalised_records(theirs)


def test_retries_exhausted_fail_the_execution_alike(functions: Functions, service: CheckpointService) -> None:
    event = {**ORDER, "fail_reserve": True}
    ended = {runtime: run_execution(functions, service, runtime, event).outcome for runtime in RUNTIMES}
    for runtime, outcome in ended.items():
        assert outcome.status == "FAILED", runtime
        assert outcome.error is not None and outcome.error["ErrorMessage"] == "warehouse down", (runtime, outcome.error)
        assert [n for t, n in operations(outcome) if t == "StepFailed"] == ["reserve", "reserve"], runtime
    assert ended["lambdaloop"].error == ended["awslambdaric"].error
    assert operations(ended["lambdaloop"]) == operations(ended["awslambdaric"])
