"""Log formats, compared in-process with awslambdaric's own formatters and frames."""

from __future__ import annotations

import io
import logging
import re
import sys

import pytest
from awslambdaric import lambda_runtime_log_utils as ric_logs

from lambdaloop.errors import format_text_error_lines
from lambdaloop.logformat import JsonFormatter, TextFormatter
from lambdaloop.logs import LogConfig, frame_type, json_timestamp


def make_record(
    msg: object = "hello %s", args: tuple = ("world",), exc: bool = False, **extra: object
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("bad")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("my.logger", logging.WARNING, "/var/task/app.py", 7, msg, args, exc_info, "fn")
    record.aws_request_id = "rid-1"
    record.tenant_id = "tenant-A"
    record.__dict__.update(extra)
    return record


@pytest.mark.parametrize("levelno", [0, 5, 10, 20, 25, 30, 40, 50, 60])
def test_frame_types_match_awslambdaric(levelno: int) -> None:
    rounded = min(50, max(0, levelno)) // 10 * 10
    assert frame_type(rounded, True) == ric_logs._TEXT_FRAME_TYPES[rounded]
    assert frame_type(rounded, False) == ric_logs._JSON_FRAME_TYPES[rounded]


def test_text_format_matches_awslambdaric_and_tracebacks_end_with_newline() -> None:
    theirs = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
    )
    plain = make_record()
    assert TextFormatter().format(plain) == theirs.format(plain)
    with_exc = make_record(exc=True)
    theirs_text = theirs.format(with_exc)
    assert not theirs_text.endswith("\n")  # awslambdaric's bug, fixed here
    assert TextFormatter().format(with_exc) == theirs_text + "\n"


@pytest.mark.parametrize(
    "record_args",
    [
        {"msg": "hello %s", "args": ("world",)},
        {"msg": {"structured": ["a", 1]}, "args": ()},
        {"msg": "with extra", "args": (), "order_id": 42, "obj": object},
        {"msg": "unicode ü ✓", "args": ()},
        {"msg": "boom", "args": (), "exc": True},
    ],
)
def test_json_format_matches_awslambdaric_but_for_milliseconds(record_args: dict) -> None:
    ours = JsonFormatter().format(make_record(**record_args))
    theirs = ric_logs.JsonFormatter().format(make_record(**record_args))
    stamp = re.compile(r'"timestamp": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{3})?Z"')
    assert re.search(stamp, ours).group(2) is not None  # milliseconds: our fix
    assert stamp.sub("T", ours) == stamp.sub("T", theirs)


def test_json_timestamp() -> None:
    assert json_timestamp(1700000000.1234) == "2023-11-14T22:13:20.123Z"


@pytest.mark.parametrize(
    "body",
    [
        {
            "errorMessage": "m",
            "errorType": "ValueError",
            "requestId": "r",
            "stackTrace": ['  File "a.py", line 1, in f\n    x()\n'],
        },
        {"errorMessage": "", "errorType": "T", "requestId": "", "stackTrace": []},
        {"errorMessage": "multi\nline", "errorType": "", "requestId": "", "stackTrace": ["", "  two\n   lines\n"]},
    ],
)
def test_text_error_lines_match_awslambdaric(body: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from awslambdaric import bootstrap

    captured = io.StringIO()
    monkeypatch.setattr(sys, "stdout", captured)
    if bootstrap._AWS_LAMBDA_LOG_FORMAT == ric_logs.LogFormat.JSON:
        pytest.skip("awslambdaric was imported with AWS_LAMBDA_LOG_FORMAT=JSON")
    bootstrap.log_error(body, bootstrap.StandardLogSink())
    assert "\r".join(format_text_error_lines(body)) + "\n" == captured.getvalue()


@pytest.mark.parametrize(
    ("env", "is_json", "level"),
    [({}, False, ""), ({"AWS_LAMBDA_LOG_FORMAT": "json"}, True, ""),
     ({"AWS_LAMBDA_LOG_LEVEL": "TRACE"}, False, "DEBUG"), ({"AWS_LAMBDA_LOG_LEVEL": "trace"}, False, "TRACE"),
     ({"AWS_LAMBDA_LOG_LEVEL": "info"}, False, "INFO")],
)  # fmt: skip
def test_log_config_reads_env_like_awslambdaric(env: dict, is_json: bool, level: str) -> None:
    config = LogConfig(env)
    assert (config.is_json, config.level) == (is_json, level)
    assert level == ric_logs._get_log_level_from_env_var(env.get("AWS_LAMBDA_LOG_LEVEL"))
