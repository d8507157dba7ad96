"""The driver's one-line rendering of a durable execution's history events: the history comes
from another process and carries the function's own results and error messages, so whatever
its shape, each event is one printable line."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from lambdaloop.durable_driver import SHOWN_PAYLOAD, describe_event

# Hypothesis keeps caches in ./.hypothesis by default: that would be the work tree.
set_hypothesis_home_dir(str(Path(tempfile.gettempdir()) / "lambdaloop-tests-hypothesis"))

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
KINDS = st.sampled_from(["StepFailed", "StepSucceeded", "WaitStarted", "ExecutionSucceeded", "ExecutionFailed", "X"])


@st.composite
def events(draw: st.DrawFn) -> Any:
    """Events shaped like the service's, with any value where a value goes."""
    details = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "Result": st.fixed_dictionaries({}, optional={"Payload": JSON}) | JSON,
                "Error": st.fixed_dictionaries({}, optional={"Payload": JSON}) | JSON,
                "RetryDetails": st.fixed_dictionaries(
                    {}, optional={"CurrentAttempt": JSON, "NextAttemptDelaySeconds": JSON}
                )
                | JSON,
                "Duration": JSON,
            },
        )
    )
    kind = draw(KINDS)
    event = {"EventType": kind, f"{kind}Details": details}
    if draw(st.booleans()):
        event["Name"] = draw(JSON)
    return event


@settings(database=None)
@given(events() | JSON)
def test_any_event_is_one_line(event: Any) -> None:
    line = describe_event(event)
    assert isinstance(line, str)
    assert "\n" not in line and "\r" not in line


def test_a_long_result_is_cut() -> None:
    event = {"EventType": "StepSucceeded", "Name": "s", "StepSucceededDetails": {"Result": {"Payload": "x" * 10_000}}}
    line = describe_event(event)
    assert len(line) < SHOWN_PAYLOAD + 100
    assert line.endswith("(10000 characters)")


def test_a_multi_line_error_message_stays_on_one_line() -> None:
    error = {"ErrorType": "ValueError", "ErrorMessage": "first\nsecond"}
    event = {"EventType": "StepFailed", "Name": "s", "StepFailedDetails": {"Error": {"Payload": error}}}
    assert describe_event(event) == "StepFailed  s  ValueError: first\\nsecond"


def test_the_last_failed_attempt_says_no_retry() -> None:
    details = {"RetryDetails": {"CurrentAttempt": 3, "NextAttemptDelaySeconds": 0}}
    assert describe_event({"EventType": "StepFailed", "Name": "s", "StepFailedDetails": details}) == (
        "StepFailed  s  (attempt 3, no retry)"
    )
