"""The Telemetry API (2022-07-01) as data: the subscription request, checked before it is
sent, and the batches the platform POSTs turned into typed records.

Limits are the authoritative table of AWS's telemetry-api page (the reference page swaps
two rows): maxItems 1,000-10,000, maxBytes 262,144-1,048,576, timeoutMs 25-30,000.
"""

from __future__ import annotations

import json

from .events import _Value
from .wire import H_IDENTIFIER, api_error, head

TELEMETRY_PATH = "/2022-07-01/telemetry"
# 2022-12-13 adds spans and metrics to the platform records; the cloud accepts it. The
# RIE's LMI mode wants 2025-01-29: pass ``schema_version`` for that.
DEFAULT_SCHEMA_VERSION = "2022-12-13"
TYPES = ("platform", "function", "extension")
# "extension" is left out on purpose: an extension that logs while handling its own log
# records feeds itself (the docs' feedback-loop warning).
DEFAULT_TYPES = ("platform", "function")
RESERVED_PORT = 9001  # the Runtime API's own port inside the sandbox
DESTINATION_HOST = "sandbox.localdomain"


class Buffering(_Value):
    """How the platform batches records before POSTing them to the listener."""

    __slots__ = ("max_bytes", "max_items", "timeout_ms")
    MAX_ITEMS = (1_000, 10_000)
    MAX_BYTES = (262_144, 1_048_576)
    TIMEOUT_MS = (25, 30_000)

    def __init__(self, max_items: int = 10_000, max_bytes: int = 262_144, timeout_ms: int = 1_000) -> None:
        for label, value, (low, high) in (
            ("max_items", max_items, self.MAX_ITEMS),
            ("max_bytes", max_bytes, self.MAX_BYTES),
            ("timeout_ms", timeout_ms, self.TIMEOUT_MS),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"buffering {label} must be an integer from {low} to {high}, not {value!r}")
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.timeout_ms = timeout_ms

    def as_json(self) -> dict[str, int]:
        return {"maxItems": self.max_items, "maxBytes": self.max_bytes, "timeoutMs": self.timeout_ms}


def check_types(types: tuple[str, ...] | list[str]) -> list[str]:
    if isinstance(types, str):
        raise ValueError(f"types is a list of names, not the string {types!r}")
    chosen = list(dict.fromkeys(types))
    unknown = [t for t in chosen if t not in TYPES]
    if not chosen or unknown:
        raise ValueError(f"telemetry types must be a non-empty subset of {list(TYPES)}, not {list(types)}")
    return chosen


def check_port(port: int) -> int:
    if not 1 <= port <= 65535 or port == RESERVED_PORT:
        raise ValueError(f"listener port must be 1-65535 and not {RESERVED_PORT} (the Runtime API's), not {port}")
    return port


def destination_uri(port: int, path: str = "/") -> str:
    return f"http://{DESTINATION_HOST}:{check_port(port)}{path}"


def subscribe_body(
    types: tuple[str, ...] | list[str],
    buffering: Buffering,
    uri: str,
    schema_version: str = DEFAULT_SCHEMA_VERSION,
) -> bytes:
    if not uri.startswith("http://"):
        raise ValueError(f"the Telemetry API delivers over plain HTTP only: {uri!r}")
    body = {
        "schemaVersion": schema_version,
        "types": check_types(types),
        "buffering": buffering.as_json(),
        "destination": {"protocol": "HTTP", "URI": uri},
    }
    return json.dumps(body).encode("utf-8")


def subscribe_request(host: str, extension_id: str, user_agent: str, body: bytes) -> bytes:
    headers = [(H_IDENTIFIER, extension_id), ("User-Agent", user_agent), ("Content-Type", "application/json")]
    return head("PUT", TELEMETRY_PATH, host, headers, body)


def check_subscribe_answer(status: int, body: bytes) -> None:
    """200 is the only success. The classic RIE answers 202 ``Telemetry.NotSupported``:
    that is a refusal too, or the caller would wait for batches that never come."""
    error = api_error("telemetry subscribe", status, body)
    if status == 200 and not error.error_type:
        return
    raise error


# -- records -------------------------------------------------------------------------------


class TelemetryRecord(_Value):
    """One item of a batch: ``time`` (ISO 8601 text, as sent), ``type`` and the raw ``record``.
    Typed subclasses below add parsed fields; unknown types stay this base class."""

    __slots__ = ("record", "time", "type")

    def __init__(self, time: str, type: str, record: object) -> None:
        self.time = time
        self.type = type
        self.record = record


class FunctionLog(TelemetryRecord):
    """A line the function wrote: ``message`` is text, or a dict with the JSON log format."""

    __slots__ = ()

    @property
    def message(self) -> str | dict[str, object]:
        return self.record if isinstance(self.record, (str, dict)) else str(self.record)


class ExtensionLog(FunctionLog):
    __slots__ = ()


class ReportMetrics(_Value):
    """``platform.report`` metrics; absent ones are None (init and restore durations appear
    only on the first invoke of an environment)."""

    __slots__ = (
        "billed_duration_ms", "duration_ms", "init_duration_ms", "max_memory_used_mb", "memory_size_mb",
        "restore_duration_ms",
    )  # fmt: skip

    def __init__(self, metrics: dict[str, object]) -> None:
        self.duration_ms = _float(metrics.get("durationMs"))
        self.billed_duration_ms = _int(metrics.get("billedDurationMs"))
        self.memory_size_mb = _int(metrics.get("memorySizeMB"))
        self.max_memory_used_mb = _int(metrics.get("maxMemoryUsedMB"))
        self.init_duration_ms = _float(metrics.get("initDurationMs"))
        self.restore_duration_ms = _float(metrics.get("restoreDurationMs"))


class _PlatformRecord(TelemetryRecord):
    __slots__ = ()

    def _get(self, key: str) -> object:
        return self.record.get(key) if isinstance(self.record, dict) else None

    @property
    def request_id(self) -> str:
        return str(self._get("requestId") or "")

    @property
    def tracing(self) -> dict[str, object] | None:
        value = self._get("tracing")
        return value if isinstance(value, dict) else None

    @property
    def spans(self) -> list[dict[str, object]]:
        value = self._get("spans")
        return value if isinstance(value, list) else []


class PlatformStart(_PlatformRecord):
    __slots__ = ()

    @property
    def version(self) -> str:
        return str(self._get("version") or "")


class PlatformRuntimeDone(_PlatformRecord):
    __slots__ = ()

    @property
    def status(self) -> str:
        return str(self._get("status") or "")

    @property
    def error_type(self) -> str | None:
        value = self._get("errorType")
        return str(value) if value else None

    @property
    def metrics(self) -> dict[str, object]:
        value = self._get("metrics")
        return value if isinstance(value, dict) else {}


class PlatformReport(PlatformRuntimeDone):
    __slots__ = ()

    @property
    def report_metrics(self) -> ReportMetrics:
        return ReportMetrics(self.metrics)


class PlatformInitStart(_PlatformRecord):
    __slots__ = ()

    @property
    def initialization_type(self) -> str:
        return str(self._get("initializationType") or "")

    @property
    def phase(self) -> str:
        return str(self._get("phase") or "")


class PlatformInitRuntimeDone(PlatformRuntimeDone):
    __slots__ = ()


class PlatformInitReport(PlatformRuntimeDone):
    __slots__ = ()


class PlatformExtension(_PlatformRecord):
    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self._get("name") or "")

    @property
    def events(self) -> list[str]:
        value = self._get("events")
        return [str(e) for e in value] if isinstance(value, list) else []


class PlatformLogsDropped(_PlatformRecord):
    __slots__ = ()

    @property
    def dropped_records(self) -> int:
        return _int(self._get("droppedRecords")) or 0


RECORD_CLASSES: dict[str, type[TelemetryRecord]] = {
    "function": FunctionLog,
    "extension": ExtensionLog,
    "platform.start": PlatformStart,
    "platform.runtimeDone": PlatformRuntimeDone,
    "platform.report": PlatformReport,
    "platform.initStart": PlatformInitStart,
    "platform.initRuntimeDone": PlatformInitRuntimeDone,
    "platform.initReport": PlatformInitReport,
    "platform.restoreStart": _PlatformRecord,
    "platform.restoreRuntimeDone": PlatformRuntimeDone,
    "platform.restoreReport": PlatformReport,
    "platform.extension": PlatformExtension,
    "platform.telemetrySubscription": PlatformExtension,  # same fields: name, state, types
    "platform.logsDropped": PlatformLogsDropped,
}


def parse_batch(body: bytes) -> list[TelemetryRecord]:
    """A delivered batch (a JSON array of ``{time, type, record}``) as typed records.
    Items that are not objects are skipped: one odd item must not lose the whole batch."""
    data = json.loads(body)
    if not isinstance(data, list):
        raise ValueError(f"a telemetry batch is a JSON array, not {type(data).__name__}")
    records: list[TelemetryRecord] = []
    for item in data:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type", ""))
        cls = RECORD_CLASSES.get(kind, TelemetryRecord)
        records.append(cls(str(item.get("time", "")), kind, item.get("record")))
    return records


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
