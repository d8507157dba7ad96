"""The ``logging`` side of function logs: formatters, the root handler, the request-id filter.

Loaded only once ``logging`` itself has been imported (see ``logs.install_when_imported``).
Output follows awslambdaric 4.2.2 (its ``bootstrap`` log formatters, observed) except for the two
documented fixes: JSON timestamps with milliseconds, and text tracebacks ending in "\\n".
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from .logs import (
    DEFAULT_FRAME_TYPE,
    TEXT_DATE_FORMAT,
    TEXT_FORMAT,
    FramedSink,
    LogConfig,
    RequestState,
    StdoutSink,
    frame_type,
    json_timestamp,
)

# LogRecord attributes that are not "extra" fields (awslambdaric's list).
_RESERVED_FIELDS = {
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
    "threadName", "processName", "process", "aws_request_id", "tenant_id", "_frame_type",
}  # fmt: skip


def _rounded_level(record: logging.LogRecord) -> int:
    return min(50, max(0, record.levelno)) // 10 * 10


def _json_dumps(value: Any) -> str:
    import _json

    # json.JSONEncoder(ensure_ascii=False, default=str), without importing json (and re).
    return "".join(_json.make_encoder({}, str, _json.encode_basestring, None, ": ", ", ", False, False, True)(value, 0))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT, TEXT_DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        # awslambdaric leaves a traceback without its final newline; the next write then
        # lands on the traceback's last line.
        return text if text.endswith("\n") else text + "\n"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # awslambdaric rewrites the record's level in place; handlers after this one see it too.
        record.levelno = _rounded_level(record)
        record.levelname = logging.getLevelName(record.levelno)
        record._frame_type = frame_type(record.levelno, False)
        exc_info = record.exc_info
        result: dict[str, Any] = {
            "timestamp": json_timestamp(record.created),
            "level": record.levelname,
            "message": record.msg if isinstance(record.msg, dict) and not record.args else record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info and exc_info[0] else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
        }
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        result.update(
            (key, value) for key, value in record.__dict__.items() if key not in _RESERVED_FIELDS and key not in result
        )
        return _json_dumps({key: value for key, value in result.items() if value is not None}) + "\n"


class RequestIdFilter(logging.Filter):
    def __init__(self, state: RequestState) -> None:
        super().__init__()
        self.state = state

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.state.request_id
        record.tenant_id = self.state.tenant_id
        return True


class LambdaLoggerHandler(logging.Handler):
    """The root handler. ``log_sink`` is the attribute name libraries and
    ``LambdaContext.log`` look for, as on awslambdaric's handler."""

    def __init__(self, log_sink: StdoutSink | FramedSink, per_level_frames: bool) -> None:
        super().__init__()
        self.log_sink = log_sink
        self.per_level_frames = per_level_frames

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            frame = getattr(record, "_frame_type", None)
            if frame is None:
                frame = frame_type(_rounded_level(record), True) if self.per_level_frames else DEFAULT_FRAME_TYPE
            self.log_sink.log(message, frame)
        except Exception:
            self.handleError(record)


def install(logging_module: Any, config: LogConfig, sink: StdoutSink | FramedSink, state: RequestState) -> None:
    logging.Formatter.converter = time.gmtime  # process-wide, as awslambdaric sets it
    handler = LambdaLoggerHandler(sink, per_level_frames=config.is_json or bool(config.level))
    handler.setFormatter(JsonFormatter() if config.is_json else TextFormatter())
    handler.addFilter(RequestIdFilter(state))
    root = logging.getLogger()
    if config.level in logging._nameToLevel:
        root.setLevel(config.level)
    root.addHandler(handler)
