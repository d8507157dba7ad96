"""The extension: register for INVOKE and subscribe to the function's logs and platform
records, turn each INVOKE event and each batch into JSON lines, hand them to the sink.

Why this shape:
- "extension" records are not subscribed: this extension's own output would come back to it.
  It prints nothing per batch either.
- Each batch is written before the listener answers the platform, so when the environment
  is frozen after an invoke nothing forwarded is left sitting in memory.
- An INVOKE record is written as the event arrives (on the extension's main thread, while
  batches arrive on the listener's; the file sink serialises the two): it carries what no
  telemetry record does, the deadline and the invoked ARN, and it is written at once, not
  after a buffering delay, so it is there even when the environment is killed before the
  next batch is delivered.
- At SHUTDOWN lambdaloop waits briefly for the platform's last batch before calling
  ``shutdown``, then the sink is closed.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from lambdaloop.extensions import (
    Buffering,
    Extension,
    FunctionLog,
    InvokeEvent,
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


def invoke_line(event: InvokeEvent, function_name: str) -> bytes:
    """One JSON line per INVOKE event (it never carries the payload: the platform's rule)."""
    doc: dict[str, object] = {
        "type": "invoke",
        # The Telemetry API's timestamp format, so all lines sort together.
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "function": function_name,
        "requestId": event.request_id,
        "deadlineMs": event.deadline_ms,
        "invokedFunctionArn": event.invoked_function_arn,
    }
    if event.tracing is not None:
        doc["traceId"] = event.tracing.value
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

    @ext.on_invoke  # having an INVOKE handler is what registers the extension for INVOKE
    def invoke(event: InvokeEvent) -> None:
        sink.write([invoke_line(event, function_name)])

    @ext.on_shutdown
    def shutdown(event: ShutdownEvent) -> None:
        sink.close()

    ext.run()
