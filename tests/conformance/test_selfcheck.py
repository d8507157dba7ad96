"""The suite checks itself: a comparison that cannot fail is a defect.

* Two awslambdaric runs with different hash seeds (so the X-Ray ``paths`` set comes out in
  another order) compare equal: the normalisation covers run-to-run noise.
* Differences injected on purpose into a recorded run are all reported.
* Every scripted case id has a handler function (a typo would make both runtimes fail alike).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from collections.abc import Callable

import pytest

from . import cases
from .conftest import ScenarioRuns
from .lognorm import normalise_stream
from .normalise import assert_same_requests, is_error_post
from .recorder import RecordedRequest
from .runner import HANDLERS_DIR

AWSLAMBDARIC = "awslambdaric"


def test_two_awslambdaric_runs_compare_equal(runs: ScenarioRuns) -> None:
    first = runs.one(AWSLAMBDARIC, cases.MAIN, {"PYTHONHASHSEED": "1"})
    second = runs.one(AWSLAMBDARIC, cases.MAIN, {"PYTHONHASHSEED": "2"})
    assert_same_requests(first.requests, second.requests, AWSLAMBDARIC, AWSLAMBDARIC)
    assert normalise_stream(first.stdout, AWSLAMBDARIC, "text") == normalise_stream(second.stdout, AWSLAMBDARIC, "text")


def _with_body(r: RecordedRequest, body: bytes) -> RecordedRequest:
    return dataclasses.replace(r, body=body)


def _flip_last_byte(r: RecordedRequest) -> RecordedRequest:
    return _with_body(r, r.body[:-1] + bytes([r.body[-1] ^ 1]))


def _uppercase_first_lowercase_header(r: RecordedRequest) -> RecordedRequest:
    lines = list(r.header_lines)
    i = next(i for i, line in enumerate(lines) if line[:1].islower())
    name, _, value = lines[i].partition(b":")
    lines[i] = name.title() + b":" + value
    return dataclasses.replace(r, header_lines=tuple(lines))


def _swap_two_headers(r: RecordedRequest) -> RecordedRequest:
    lines = list(r.header_lines)
    lines[1], lines[2] = lines[2], lines[1]
    return dataclasses.replace(r, header_lines=tuple(lines))


def _extra_header(r: RecordedRequest) -> RecordedRequest:
    return dataclasses.replace(r, header_lines=(*r.header_lines, b"X-Extra: 1"))


def _no_space_after_colon(r: RecordedRequest) -> RecordedRequest:
    lines = [line.replace(b": ", b":", 1) for line in r.header_lines]
    return dataclasses.replace(r, header_lines=tuple(lines))


def _xray_message_changed(r: RecordedRequest) -> RecordedRequest:
    lines = []
    for line in r.header_lines:
        name, _, value = line.partition(b": ")
        if name.lower() == b"lambda-runtime-function-xray-error-cause":
            cause = json.loads(value)
            cause["exceptions"][0]["message"] += "!"
            value = json.dumps(cause).encode()
        lines.append(name + b": " + value)
    return dataclasses.replace(r, header_lines=tuple(lines))


def _xray_paths_added(r: RecordedRequest) -> RecordedRequest:
    lines = []
    for line in r.header_lines:
        name, _, value = line.partition(b": ")
        if name.lower() == b"lambda-runtime-function-xray-error-cause":
            cause = json.loads(value)
            cause["paths"].append("/elsewhere.py")
            value = json.dumps(cause).encode()
        lines.append(name + b": " + value)
    return dataclasses.replace(r, header_lines=tuple(lines))


def _body_reencoded_ascii(r: RecordedRequest) -> RecordedRequest:
    return _with_body(r, json.dumps(json.loads(r.body), ensure_ascii=True).encode())


INJECTIONS: dict[str, tuple[str, Callable[[RecordedRequest], RecordedRequest]]] = {
    "body-byte": ("return-dict", _flip_last_byte),
    "body-5mb-last-byte": ("return-5mb", _flip_last_byte),
    "header-case": ("return-dict", _uppercase_first_lowercase_header),
    "header-order": ("return-dict", _swap_two_headers),
    "extra-header": ("raise-custom", _extra_header),
    "header-spacing": ("return-dict", _no_space_after_colon),
    "xray-message": ("raise-deep", _xray_message_changed),
    "xray-paths": ("raise-deep", _xray_paths_added),
    "non-ascii-escaped": ("return-unicode", _body_reencoded_ascii),
}


@pytest.mark.scenarios(cases.MAIN)
@pytest.mark.parametrize("injection", list(INJECTIONS))
def test_injected_difference_is_detected(runs: ScenarioRuns, injection: str) -> None:
    ric = runs.one(AWSLAMBDARIC, cases.MAIN)
    case, mutate = INJECTIONS[injection]
    marker = f"/invocation/{case}/"
    assert any(marker in r.target for r in ric.requests)
    mutated = [mutate(r) if marker in r.target else r for r in ric.requests]
    assert_same_requests(ric.requests, ric.requests, AWSLAMBDARIC, AWSLAMBDARIC)  # unchanged: equal
    with pytest.raises(AssertionError):
        assert_same_requests(ric.requests, mutated, AWSLAMBDARIC, AWSLAMBDARIC)


@pytest.mark.scenarios(cases.MAIN)
def test_missing_or_extra_request_is_detected(runs: ScenarioRuns) -> None:
    requests = runs.one(AWSLAMBDARIC, cases.MAIN).requests
    for changed in (requests[:-1], [*requests, requests[-1]], [requests[1], requests[0], *requests[2:]]):
        with pytest.raises(AssertionError):
            assert_same_requests(requests, changed, AWSLAMBDARIC, AWSLAMBDARIC)


@pytest.mark.scenarios(cases.MAIN)
def test_lambdaloop_error_type_header_is_required(runs: ScenarioRuns) -> None:
    """The intentional Lambda-Runtime-Function-Error-Type is checked, not just ignored."""
    loop = runs.one("lambdaloop", cases.MAIN)
    error = next(r for r in loop.requests if is_error_post(r))
    name = b"lambda-runtime-function-error-type"
    for lines in (
        tuple(line for line in error.header_lines if not line.lower().startswith(name)),
        tuple(name + b": Wrong" if line.lower().startswith(name) else line for line in error.header_lines),
    ):
        with pytest.raises(AssertionError):
            assert_same_requests([error], [dataclasses.replace(error, header_lines=lines)], "lambdaloop", "lambdaloop")


def test_log_normalisation_keeps_content() -> None:
    line = b"[WARNING]\t2026-11-23T10:00:00.123Z\trid-1\thello\n"
    other = b"[WARNING]\t2026-11-23T11:11:11.999Z\trid-1\thello\n"
    assert normalise_stream(line, AWSLAMBDARIC, "text") == normalise_stream(other, "lambdaloop", "text")
    for changed in (line.replace(b"hello", b"hellO"), line.replace(b"rid-1", b"rid-2"), line.replace(b"\t", b" ", 1)):
        assert normalise_stream(line, AWSLAMBDARIC, "text") != normalise_stream(changed, "lambdaloop", "text")
    # Each side has its own JSON timestamp shape: seconds for awslambdaric, milliseconds for lambdaloop.
    seconds, millis = b'{"timestamp": "2026-11-23T10:00:00Z"}\n', b'{"timestamp": "2026-11-23T10:00:00.123Z"}\n'
    assert normalise_stream(seconds, AWSLAMBDARIC, "json") == normalise_stream(millis, "lambdaloop", "json")
    assert normalise_stream(seconds, AWSLAMBDARIC, "json") != normalise_stream(seconds, "lambdaloop", "json")


def test_every_case_has_a_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HANDLERS_DIR))
    for module_name, script in (("corpus", cases.MAIN_SCRIPT), ("logs_app", cases.LOG_SCENARIOS[0].script)):
        spec = importlib.util.spec_from_file_location(f"_conformance_{module_name}", HANDLERS_DIR / f"{module_name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for answer in script:
            rid = answer.request_id or ""
            if rid.startswith(getattr(module, "DESCRIBE_EVENT_PREFIXES", ())):
                continue
            assert hasattr(module, "case_" + rid.replace("-", "_")), f"{module_name} has no case for {rid}"
    sys.modules.pop("helpers.deep", None)
    sys.modules.pop("helpers", None)
