"""awslambdaric 4.2.2 and lambdaloop, side by side, on the same handlers and the same answers.

Every test compares what the two runtimes sent to the recording Runtime API (and what they
wrote to stdout, stderr and the telemetry fd) after the normalisation in ``normalise.py``
and ``lognorm.py``. The intentional differences are listed there (``INTENTIONAL``) and,
where they cannot be normalised away, tested on their own at the end of this file.
"""

from __future__ import annotations

import json
import re
import signal

import pytest

from . import cases
from .conftest import ScenarioRuns
from .lognorm import normalise_frames, normalise_stream
from .normalise import (
    INIT_ERROR_PATH,
    assert_same_requests,
    is_extensions_api,
    is_runtime_api,
    normalise,
    runtime_api_requests,
)
from .recorder import NEXT_PATH, RecordedRequest, requests_for
from .runner import RunResult, Scenario

AWSLAMBDARIC, LAMBDALOOP = "awslambdaric", "lambdaloop"
NON_INIT = [cases.MAIN, *cases.LOG_SCENARIOS, *cases.WORKING_HANDLERS]
INIT = [*cases.INIT_SCENARIOS, *cases.INIT_LOG_SCENARIOS]


def _ids(scenarios: list[Scenario]) -> list[str]:
    return [s.id for s in scenarios]


def _posts(run: RunResult) -> list[RecordedRequest]:
    return [r for r in run.requests if r.method == "POST" and is_runtime_api(r)]


# ---- the corpus, one test per invocation -----------------------------------------------------


@pytest.mark.scenarios(cases.MAIN)
@pytest.mark.parametrize("case", cases.DIFFERENTIAL_CASES)
def test_invocation(runs: ScenarioRuns, case: str) -> None:
    ric, loop = runs.both(cases.MAIN)
    ric_posts, loop_posts = requests_for(ric.requests, case), requests_for(loop.requests, case)
    assert len(ric_posts) == 1, f"awslambdaric posted {len(ric_posts)} requests for {case}\n{ric.describe()}"
    assert len(loop_posts) == 1, f"lambdaloop posted {len(loop_posts)} requests for {case}\n{loop.describe()}"
    assert_same_requests(ric_posts, loop_posts)


# ---- whole runs: every request in order, outputs, the end state -------------------------------


@pytest.mark.parametrize("scenario", [s for s in NON_INIT if s is not cases.MAIN] + INIT, ids=str)
def test_all_requests(runs: ScenarioRuns, scenario: Scenario) -> None:
    ric, loop = runs.both(scenario)
    assert_same_requests(ric.requests, loop.requests)


def test_main_request_sequence(runs: ScenarioRuns) -> None:
    """The /next requests are identical, and both runtimes post in the same order (per-case
    content is compared by test_invocation)."""
    ric, loop = runs.both(cases.MAIN)
    nexts = [[normalise(r, rt.runtime) for r in rt.requests if r.target == NEXT_PATH] for rt in (ric, loop)]
    assert nexts[0] == nexts[1]
    assert len(nexts[0]) == len(cases.MAIN_SCRIPT) + 1
    sequence = [[(r.method, r.target) for r in runtime_api_requests(rt.requests)] for rt in (ric, loop)]
    assert sequence[0] == sequence[1]


@pytest.mark.parametrize("scenario", NON_INIT + INIT, ids=str)
def test_outputs(runs: ScenarioRuns, scenario: Scenario) -> None:
    ric, loop = runs.both(scenario)
    fmt = scenario.log_format
    assert normalise_stream(loop.stdout, LAMBDALOOP, fmt) == normalise_stream(ric.stdout, AWSLAMBDARIC, fmt)
    assert normalise_stream(loop.stderr, LAMBDALOOP, fmt) == normalise_stream(ric.stderr, AWSLAMBDARIC, fmt)
    if scenario.telemetry is not None:
        assert ric.telemetry is not None and loop.telemetry is not None
        frames = [
            normalise_frames(run.telemetry or b"", run.runtime, fmt, (run.started_at_us, run.ended_at_us))
            for run in (ric, loop)
        ]
        assert frames[1] == frames[0]


@pytest.mark.parametrize("scenario", NON_INIT, ids=str)
def test_stays_up(runs: ScenarioRuns, scenario: Scenario) -> None:
    """Both served the whole script and asked for the next invocation."""
    for run in runs.both(scenario):
        assert run.reached_idle, run.describe()


@pytest.mark.parametrize("scenario", INIT, ids=str)
def test_init_error_exit(runs: ScenarioRuns, scenario: Scenario) -> None:
    """Init failure: one /init/error, no /next, exit status 1."""
    for run in runs.both(scenario):
        posted = [r.target for r in runtime_api_requests(run.requests)]
        assert posted == [INIT_ERROR_PATH], f"{run.runtime}: {posted}\n{run.describe()}"
        assert run.returncode == 1, run.describe()


@pytest.mark.scenarios(cases.MAIN)
def test_one_keep_alive_connection(runs: ScenarioRuns) -> None:
    """Both runtimes send every invocation request on one kept-alive connection."""
    for run in runs.both(cases.MAIN):
        connections = {r.connection for r in run.requests if is_runtime_api(r)}
        assert len(connections) == 1, f"{run.runtime} used connections {connections}"


# ---- documented differences, each tested on its own ---------------------------------------------


def test_extension_registration_is_the_only_extra_traffic(runs: ScenarioRuns) -> None:
    """INTENTIONAL["extension-registration"]: lambdaloop registers lambdaloop-sigterm with no events."""
    ric, loop = runs.both(cases.MAIN)
    assert not [r for r in ric.requests if not is_runtime_api(r)]
    extra = [r for r in loop.requests if not is_runtime_api(r)]
    assert all(is_extensions_api(r) for r in extra), [r.target for r in extra]
    register = [r for r in extra if r.target.endswith("/register")]
    assert len(register) == 1
    assert register[0].header("Lambda-Extension-Name") == b"lambdaloop-sigterm"
    assert json.loads(register[0].body) == {"events": []}
    assert {r.target.rsplit("/", 1)[1] for r in extra} <= {"register", "next"}
    # Registered before the first /next (registration closes then).
    assert loop.requests.index(register[0]) < next(i for i, r in enumerate(loop.requests) if r.target == NEXT_PATH)


@pytest.mark.parametrize("case", cases.NAN_CASES)
def test_nan_and_infinity(runs: ScenarioRuns, case: str) -> None:
    """awslambdaric sends the invalid JSON tokens NaN/Infinity; lambdaloop sends null in their place."""
    ric, loop = runs.both(cases.MAIN)
    (ric_post,), (loop_post,) = requests_for(ric.requests, case), requests_for(loop.requests, case)
    assert re.search(rb"NaN|Infinity", ric_post.body), ric_post.body
    expected = re.sub(rb"-?Infinity|NaN", b"null", ric_post.body)
    assert loop_post.body == expected
    json.loads(loop_post.body)  # valid JSON
    # Everything else about the request is identical (content-length follows the body).
    strip = re.compile(r"^content-length: \d+$", re.IGNORECASE)
    lines = [
        [h for h in normalise(p, rt).header_lines if not strip.match(h)]
        for p, rt in ((ric_post, AWSLAMBDARIC), (loop_post, LAMBDALOOP))
    ]
    assert lines[0] == lines[1]


def test_handler_not_callable(runs: ScenarioRuns) -> None:
    """A non-callable handler fails at invoke with a TypeError whose only frame is the runtime's own
    call of the handler: that frame names each runtime's file, so it is compared by shape."""
    ric, loop = runs.both(cases.NOT_CALLABLE)
    (ric_post,), (loop_post,) = requests_for(ric.requests, "not-callable"), requests_for(loop.requests, "not-callable")
    ric_body, loop_body = json.loads(ric_post.body), json.loads(loop_post.body)
    assert list(loop_body) == list(ric_body)
    for key in ("errorMessage", "errorType", "requestId"):
        assert loop_body[key] == ric_body[key]
    assert len(loop_body["stackTrace"]) == len(ric_body["stackTrace"]) == 1
    assert "/lambdaloop/" in loop_body["stackTrace"][0] and "/awslambdaric/" in ric_body["stackTrace"][0]
    assert ric.reached_idle and loop.reached_idle


def test_sys_exit_in_handler(runs: ScenarioRuns) -> None:
    """awslambdaric posts nothing and exits 3; lambdaloop posts Runtime.ExitError, then exits 3."""
    ric, loop = runs.both(cases.SYS_EXIT)
    assert ric.returncode == 3 and loop.returncode == 3
    assert not _posts(ric)
    (post,) = _posts(loop)
    assert post.target.endswith("/invocation/sys-exit/error")
    body = json.loads(post.body)
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorType"] == "Runtime.ExitError" and body["requestId"] == "sys-exit"
    assert post.header("Lambda-Runtime-Function-Error-Type") == b"Runtime.ExitError"


def test_keyboard_interrupt_in_handler(runs: ScenarioRuns) -> None:
    """awslambdaric dies of the uncaught KeyboardInterrupt (SIGINT status) and posts nothing.
    Nothing in Lambda sends SIGINT, so the handler raised it: lambdaloop posts it as that
    invocation's error and the loop goes on, as for any other exception."""
    ric, loop = runs.both(cases.KEYBOARD_INTERRUPT)
    assert ric.returncode == -signal.SIGINT
    assert not _posts(ric)
    (post,) = _posts(loop)
    assert post.target.endswith("/invocation/keyboard-interrupt/error")
    body = json.loads(post.body)
    assert body["errorType"] == "KeyboardInterrupt" and body["requestId"] == "keyboard-interrupt"
    assert loop.reached_idle  # back in /next: the process lives on


def test_lone_surrogate_result(runs: ScenarioRuns) -> None:
    """awslambdaric cannot UTF-8-encode a lone surrogate: its runtime dies and nothing is posted.
    lambdaloop posts the JSON escape, which is valid JSON."""
    ric, loop = runs.both(cases.LONE_SURROGATE)
    assert ric.returncode == 1 and not _posts(ric) and b"UnicodeEncodeError" in ric.stderr
    (post,) = _posts(loop)
    assert post.body == b'{"s": "\\ud800"}' and loop.reached_idle


def test_exit_at_import(runs: ScenarioRuns) -> None:
    """INTENTIONAL["exit-at-import"]: module-level sys.exit(2). awslambdaric posts nothing and
    exits 2; lambdaloop reports it as an init error first, then exits 2 as well."""
    ric, loop = runs.both(cases.EXIT_AT_IMPORT)
    assert ric.returncode == 2 and not _posts(ric)
    assert loop.returncode == 2
    (post,) = _posts(loop)
    assert post.target == INIT_ERROR_PATH
    assert post.header("Lambda-Runtime-Function-Error-Type") == b"Runtime.ExitError"
    body = json.loads(post.body)
    assert body["errorMessage"] == "Runtime exited with error: exit status 2"
    assert "sys.exit(2)" in body["stackTrace"][-1]


@pytest.mark.parametrize("kind", list(cases.BAD_NEXT))
def test_lambdaloop_survives_bad_next(runs: ScenarioRuns, kind: str) -> None:
    """A /next that crashes awslambdaric: lambdaloop answers it and serves the next one."""
    run = runs.one(LAMBDALOOP, cases.BAD_NEXT[kind])
    assert run.reached_idle, run.describe()
    responses = [r for r in _posts(run) if r.target.endswith("/response")]
    assert [r.target.split("/")[-2] for r in responses] == [a.request_id for a in cases.BAD_NEXT[kind].script]
    first = json.loads(responses[0].body)
    if kind == "missing-content-type":
        # There is no awslambdaric behaviour to match (it crashes). Its marshaller's rule would pass
        # bytes (None != "application/json"); parsing the JSON is also defensible. Either is accepted.
        assert first in ({"type": "bytes", "hex": b"{}".hex()}, {"type": "dict", "event": {}})
    else:
        assert first == {"remaining_positive": False, "remaining_type": "int"}


@pytest.mark.parametrize("kind", list(cases.BAD_NEXT))
def test_awslambdaric_crashes_on_bad_next(runs: ScenarioRuns, kind: str) -> None:
    """Why lambdaloop is tested alone there: awslambdaric dies on these answers."""
    run = runs.one(AWSLAMBDARIC, cases.BAD_NEXT[kind])
    assert run.returncode == -getattr(signal, cases.AWSLAMBDARIC_CRASH_SIGNALS[kind]), run.describe()
    assert not _posts(run)


def test_exception_whose_str_raises(runs: ScenarioRuns) -> None:
    """awslambdaric calls str(exc) outside any guard: the runtime itself dies, nothing is posted.
    lambdaloop must post exactly one error for that invocation and go on."""
    ric, loop = runs.both(cases.BAD_STR)
    assert ric.returncode == 1 and not _posts(ric), ric.describe()
    assert b"__str__ itself fails" in ric.stderr
    assert loop.reached_idle, loop.describe()
    error, response = _posts(loop)
    assert error.target.endswith("/invocation/raise-bad-str/error")
    body = json.loads(error.body)
    assert body["errorType"] == "BadStr" and body["requestId"] == "raise-bad-str"
    assert response.target.endswith("/invocation/return-dict/response")


def test_init_error_latin1_message(runs: ScenarioRuns) -> None:
    """awslambdaric's http.client encodes the /init/error body as latin-1 (invalid UTF-8 JSON);
    lambdaloop sends UTF-8. The bodies are the same text."""
    ric, loop = runs.both(cases.INIT_LATIN1)
    (ric_post,), (loop_post,) = _posts(ric), _posts(loop)
    assert loop_post.body.decode("utf-8") == ric_post.body.decode("latin-1")
    assert json.loads(loop_post.body)["errorMessage"] == "échec à l'initialisation"
    assert ric.returncode == loop.returncode == 1


def test_init_error_non_latin1_message(runs: ScenarioRuns) -> None:
    """A message outside latin-1: awslambdaric's post raises UnicodeEncodeError, nothing is posted;
    lambdaloop posts it as UTF-8."""
    ric, loop = runs.both(cases.INIT_NON_ASCII)
    assert not _posts(ric) and ric.returncode == 1
    assert b"UnicodeEncodeError" in ric.stderr
    (loop_post,) = _posts(loop)
    assert json.loads(loop_post.body)["errorMessage"] == "échec à l'initialisation 😀"
    assert loop.returncode == 1
