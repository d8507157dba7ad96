"""The extension: subscribe to the function's logs and platform records, turn each batch
into JSON lines, hand them to the sink.

Why this shape:
- "extension" records are not subscribed: this extension's own output would come back to it.
  It prints nothing per batch either.
- Each batch is written before the listener answers the platform, so when the environment
  is frozen after an invoke nothing forwarded is left sitting in memory.
- At SHUTDOWN lambdaloop waits briefly for the platform's last batch before calling
  ``shutdown``, then the sink is closed.
"""

from __future__ import annotations

import json
import os

from lambdaloop.extensions import (
    Buffering,
    Extension,
    FunctionLog,
    PlatformReport,
    ShutdownEvent,
    TelemetryRecord,
)

from .sinks import open_sink


def to_line(record: TelemetryRecord, function_name: str) -> bytes | None:
    """One JSON line per record worth forwarding; None for the rest."""
    if isinstance(record, PlatformReport):
        metrics = record.report_metrics
        doc: dict[str, object] = {
            "type": "metrics",
            "time": record.time,
            "function": function_name,
            "requestId": record.request_id,
            "status": record.status,
            "durationMs": metrics.duration_ms,
            "billedDurationMs": metrics.billed_duration_ms,
            "memorySizeMB": metrics.memory_size_mb,
            "maxMemoryUsedMB": metrics.max_memory_used_mb,
        }
        if metrics.init_duration_ms is not None:
            doc["initDurationMs"] = metrics.init_duration_ms
    elif isinstance(record, FunctionLog) and record.type == "function":
        message = record.message
        doc = {"type": "log", "time": record.time, "function": function_name}
        if isinstance(message, dict):
            doc.update(message)  # the JSON log format: keep its fields
        else:
            doc["message"] = message.rstrip("\n")
    else:
        return None
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def main() -> None:
    ext = Extension()  # name: this executable's file name, as the platform requires
    sink = open_sink(os.environ.get("LOG_FORWARDER_TARGET", "file:///tmp/log-forwarder.jsonl"))
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")

    @ext.on_telemetry(types=["platform", "function"], buffering=Buffering(max_items=1000, timeout_ms=100))
    def forward(records: list[TelemetryRecord]) -> None:
        lines = [line for line in (to_line(r, function_name) for r in records) if line is not None]
        if lines:
            sink.write(lines)

    @ext.on_shutdown
    def shutdown(event: ShutdownEvent) -> None:
        sink.close()

    ext.run()
