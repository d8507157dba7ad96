"""Shapes of the ``platform.*`` Telemetry API records (pure), as in Lambda's telemetry
schema reference: camelCase fields, ``metrics`` in milliseconds and MB, ``tracing`` only
when the invoke carried a trace id, ``errorType`` only on failures."""

from __future__ import annotations

from lambdaloop.emulator.report import billed_ms

Record = dict[str, object]
_INIT = {"initializationType": "on-demand", "phase": "init"}
_SNAP_START_INIT = {"initializationType": "snap-start", "phase": "init"}


def _tracing(record: Record, trace_id: str | None) -> Record:
    if trace_id:
        record["tracing"] = {"type": "X-Amzn-Trace-Id", "value": trace_id}
    return record


def _error(record: Record, error_type: str | None) -> Record:
    if error_type:
        record["errorType"] = error_type
    return record


def _init(snap_start: bool) -> Record:
    return dict(_SNAP_START_INIT if snap_start else _INIT)


def init_start(function_name: str, function_version: str, snap_start: bool = False) -> Record:
    return {**_init(snap_start), "functionName": function_name, "functionVersion": function_version}


def init_runtime_done(status: str, error_type: str | None = None, snap_start: bool = False) -> Record:
    return _error({**_init(snap_start), "status": status}, error_type)


def init_report(status: str, duration_ms: float, error_type: str | None = None, snap_start: bool = False) -> Record:
    metrics = {"durationMs": round(duration_ms, 3)}
    return _error({**_init(snap_start), "status": status, "metrics": metrics}, error_type)


def restore_start(function_name: str, function_version: str) -> Record:
    return {"functionName": function_name, "functionVersion": function_version}


def restore_runtime_done(status: str, error_type: str | None = None) -> Record:
    return _error({"status": status}, error_type)


def restore_report(status: str, duration_ms: float, error_type: str | None = None) -> Record:
    return _error({"status": status, "metrics": {"durationMs": round(duration_ms, 3)}}, error_type)


def start(request_id: str, version: str, trace_id: str | None) -> Record:
    return _tracing({"requestId": request_id, "version": version}, trace_id)


def runtime_done(
    request_id: str, status: str, duration_ms: float, produced_bytes: int, error_type: str | None, trace_id: str | None
) -> Record:
    metrics = {"durationMs": round(duration_ms, 3), "producedBytes": produced_bytes}
    return _tracing(_error({"requestId": request_id, "status": status, "metrics": metrics}, error_type), trace_id)


def report(
    request_id: str,
    status: str,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_duration_ms: float | None,
    error_type: str | None,
    trace_id: str | None,
    restore: tuple[float, int] | None = None,
) -> Record:
    metrics: Record = {
        "durationMs": round(duration_ms, 3),
        "billedDurationMs": billed_ms(duration_ms),
        "memorySizeMB": memory_mb,
        "maxMemoryUsedMB": max_memory_mb,
    }
    if init_duration_ms is not None:
        metrics["initDurationMs"] = round(init_duration_ms, 3)
    if restore is not None:
        metrics["restoreDurationMs"] = round(restore[0], 3)
        metrics["billedRestoreDurationMs"] = restore[1]
    return _tracing(_error({"requestId": request_id, "status": status, "metrics": metrics}, error_type), trace_id)
