"""What each runtime writes (stdout, stderr, the telemetry fd), with timestamps taken out.

Normalised for both runtimes: timestamps in text log lines, aws-lambda-cpp style
``[ERROR] [<epoch ms>] LAMBDA_RUNTIME`` lines and telemetry frame headers. Two documented
lambdaloop improvements are normalised explicitly, on one side each:

* JSON log ``timestamp``: awslambdaric whole seconds (``2026-11-23T10:00:00Z``), lambdaloop
  milliseconds (``2026-11-23T10:00:00.123Z``). Each side must have its own shape.
* A ``logger.exception`` record in text format: awslambdaric ends it right after the
  traceback's last line, with no newline (the next write is glued on); lambdaloop ends it
  with a newline. The corpus ends every logged exception message with ``(logged)``, and a
  newline is added after that marker on the awslambdaric side.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .normalise import AWSLAMBDARIC, LAMBDALOOP

LOGGED_EXCEPTION_MARKER = "(logged)"

# Not anchored to a line start: after context.log("no newline") the next record is glued on.
_TEXT_TS = re.compile(r"(\[[A-Za-z0-9 ]+\]\t)\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t")
_CPP_LINE = re.compile(r"\[ERROR\] \[\d{13}\] LAMBDA_RUNTIME ")
_JSON_TS = {
    AWSLAMBDARIC: re.compile(r'"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"'),
    LAMBDALOOP: re.compile(r'"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"'),
}
_UNTERMINATED_TRACEBACK = re.compile(re.escape(LOGGED_EXCEPTION_MARKER) + r"(?!\n)")

# Lines whose content differs only because each runtime names itself. There are none today;
# a line added here is left out of the comparison on both sides, so keep this list short.
RUNTIME_NAME_LINES: tuple[re.Pattern[str], ...] = ()

_FRAME_HEADER = struct.Struct(">IIQ")


@dataclass(frozen=True)
class Frame:
    type: int
    timestamp_us: int
    message: bytes


def parse_frames(data: bytes) -> list[Frame]:
    """The telemetry fd's frames: type (4 bytes BE), length (4 BE), timestamp µs (8 BE), message."""
    frames = []
    offset = 0
    while offset < len(data):
        assert len(data) - offset >= _FRAME_HEADER.size, f"truncated frame header at byte {offset}"
        kind, length, timestamp = _FRAME_HEADER.unpack_from(data, offset)
        offset += _FRAME_HEADER.size
        assert len(data) - offset >= length, f"frame at {offset} announces {length} bytes, {len(data) - offset} left"
        frames.append(Frame(kind, timestamp, data[offset : offset + length]))
        offset += length
    return frames


def normalise_text(text: str, runtime: str, log_format: str) -> str:
    text = _TEXT_TS.sub(r"\1<timestamp>\t", text)
    text = _CPP_LINE.sub("[ERROR] [<epoch-ms>] LAMBDA_RUNTIME ", text)
    text = _JSON_TS[runtime].sub('"timestamp": "<timestamp>"', text)
    if runtime == AWSLAMBDARIC and log_format == "text":
        text = _UNTERMINATED_TRACEBACK.sub(LOGGED_EXCEPTION_MARKER + "\n", text)
    return text


def normalise_stream(data: bytes, runtime: str, log_format: str) -> list[str]:
    """A stream as a list of lines (kept ends), for a line diff."""
    text = normalise_text(data.decode("utf-8", "surrogateescape"), runtime, log_format)
    # Split on "\n" only: "\r" joins the lines of one error record (one CloudWatch event).
    lines = text.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return [line for line in lines if not any(p.search(line) for p in RUNTIME_NAME_LINES)]


def normalise_frames(data: bytes, runtime: str, log_format: str, window_us: tuple[int, int]) -> list[str]:
    """Frames as ``<type hex> <message>``; every timestamp must fall within the run's window."""
    out = []
    start, end = window_us
    for frame in parse_frames(data):
        assert start - 1_000_000 <= frame.timestamp_us <= end + 1_000_000, (
            f"{runtime}: frame timestamp {frame.timestamp_us} outside the run [{start}, {end}] (not µs since epoch?)"
        )
        message = normalise_text(frame.message.decode("utf-8", "surrogateescape"), runtime, log_format)
        out.append(f"{frame.type:#010x} {message!r}")
    return out
