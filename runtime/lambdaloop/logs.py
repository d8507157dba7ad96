"""Function logs as awslambdaric writes them: text or JSON, request id on every record,
and the telemetry-fd frame format when ``_LAMBDA_TELEMETRY_LOG_FD`` is set.

Two improvements on awslambdaric, documented in the README: JSON timestamps carry
milliseconds, and a text record with a traceback ends with a newline (awslambdaric glues
the next write onto the traceback's last line).

``logging`` costs about 10 ms to import. lambdaloop installs its root handler the moment
anything imports ``logging`` (the user's module, boto3, ...), before that code can log or
call ``basicConfig``, and never imports it for a handler that does not log.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, MutableMapping
    from types import ModuleType
    from typing import Any, TextIO

# Frame types: 0xA55A0000 | level_code << 2 | 0b10 | is_text, as awslambdaric writes them.
_LEVEL_CODES = {0: 0, 10: 2, 20: 3, 30: 4, 40: 5, 50: 6}


def frame_type(levelno: int, text: bool) -> bytes:
    return (0xA55A0002 | _LEVEL_CODES[levelno] << 2 | int(text)).to_bytes(4, "big")


DEFAULT_FRAME_TYPE = frame_type(0, True)
ERROR_TEXT_FRAME_TYPE = frame_type(40, True)
ERROR_JSON_FRAME_TYPE = frame_type(40, False)

TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"


class LogConfig:
    """AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL, read as awslambdaric reads them."""

    __slots__ = ("is_json", "level")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.is_json = environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"
        raw_level = environ.get("AWS_LAMBDA_LOG_LEVEL")
        # awslambdaric maps "TRACE" (exact case) to DEBUG before upper-casing.
        self.level = {None: "", "TRACE": "DEBUG"}.get(raw_level, raw_level or "").upper()


class RequestState:
    """The invocation that owns the process right now, for log records.

    A process-wide value on purpose: awslambdaric's filter reads a global, so records logged
    from the user's worker threads carry the request id too, which a ContextVar would lose.
    """

    __slots__ = ("request_id", "tenant_id")

    def __init__(self) -> None:
        self.request_id = ""
        self.tenant_id: str | None = None


class Unbuffered:
    """stdout/stderr flushed after every write, so nothing is lost when the platform
    freezes or kills the process (awslambdaric wraps them the same way). Text that cannot be
    encoded (a lone surrogate: an id the platform sent as invalid UTF-8) is written escaped
    rather than raising, as CPython already does for stderr: a log line is never lost to it."""

    def __init__(self, stream: TextIO) -> None:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
        self.stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def write(self, msg: str) -> int:
        written = self.stream.write(msg)
        self.stream.flush()
        return written

    def writelines(self, msgs: Any) -> None:
        self.stream.writelines(msgs)
        self.stream.flush()


class StdoutSink:
    def __init__(self, is_json: bool) -> None:
        self.is_json = is_json

    def log(self, msg: str, frame: bytes | None = None) -> None:
        sys.stdout.write(msg)

    def log_error(self, lines: list[str]) -> None:
        # "\r" keeps a multi-line error in one CloudWatch event.
        sys.stdout.write("\r".join(lines) + "\n")

    def close(self) -> None:
        pass


class FramedSink:
    """Frames on the telemetry fd: type (4 bytes), length (4), µs timestamp (8), message."""

    def __init__(self, fd: int, is_json: bool) -> None:
        self.file = os.fdopen(fd, "wb", 0)
        self.is_json = is_json

    def log(self, msg: str, frame: bytes | None = None) -> None:
        data = msg.encode("utf-8", "backslashreplace")
        timestamp = time.time_ns() // 1000
        self.file.write(
            (frame or DEFAULT_FRAME_TYPE) + len(data).to_bytes(4, "big") + timestamp.to_bytes(8, "big") + data
        )

    def log_error(self, lines: list[str]) -> None:
        self.log("\n".join(lines), ERROR_JSON_FRAME_TYPE if self.is_json else ERROR_TEXT_FRAME_TYPE)

    def close(self) -> None:
        self.file.close()


def create_sink(environ: MutableMapping[str, str], is_json: bool) -> StdoutSink | FramedSink:
    """The sink for function logs: framed on the telemetry fd when the platform gives one (the
    variable is consumed, as awslambdaric does, so child processes do not write to it)."""
    fd = environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    if fd is not None and fd.isdigit():
        return FramedSink(int(fd), is_json)
    return StdoutSink(is_json)


def runtime_log(message: str) -> None:
    """The runtime's own diagnostics, in aws-lambda-cpp's shape, on stdout like awslambdaric's.
    Values from the platform appear in them: escaped, so a diagnostic can never fail to print."""
    line = f"[ERROR] [{int(time.time() * 1000)}] LAMBDA_RUNTIME {message}\n"
    sys.stdout.write(line.encode("utf-8", "backslashreplace").decode("utf-8"))


def json_timestamp(seconds: float) -> str:
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((seconds - whole) * 1000):03d}Z"


def log_runtime_error(sink: StdoutSink | FramedSink, body: dict[str, Any]) -> None:
    """The runtime's own ERROR record for a failed invocation or init."""
    if sink.is_json:
        from .marshal import to_json

        sink.log_error([to_json({"timestamp": json_timestamp(time.time()), "level": "ERROR", **body})])
    else:
        from .errors import format_text_error_lines

        sink.log_error(format_text_error_lines(body))


def install_when_imported(setup: Callable[[ModuleType], None]) -> None:
    """Run ``setup(logging)`` right after ``logging`` is first imported, or now if it is."""
    module = sys.modules.get("logging")
    if module is not None:
        setup(module)
        return
    sys.meta_path.insert(0, _ImportWatcher("logging", setup))


class _ImportWatcher:
    """A meta-path finder that lets the real finders load one module, then calls back."""

    def __init__(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        self.name = name
        self.callback = callback

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _CallbackLoader(spec.loader, self.callback)
        return spec


class _CallbackLoader:
    def __init__(self, loader: Any, callback: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._callback = callback

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        # Leave the module looking as if nothing had intervened.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._callback(module)
