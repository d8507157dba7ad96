"""A Sentry transport that sends nowhere: it keeps each envelope in memory until Sentry
flushes it (as the HTTP transport's background queue would), then appends one JSON line per
item to ``$COMPAT_RECORD``. So the file shows both what was captured and whether anything
drained Sentry's queue before the next invoke."""

from __future__ import annotations

import json
import os
from typing import Any

from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

RECORD = os.environ["COMPAT_RECORD"]


def _summary(item_type: str | None, event: dict[str, Any]) -> dict[str, Any]:
    exceptions = (event.get("exception") or {}).get("values") or [{}]
    last = exceptions[-1]
    lam = (event.get("extra") or {}).get("lambda") or {}
    return {
        "type": item_type,
        "exception_type": last.get("type"),
        "exception_value": last.get("value"),
        "mechanism": (last.get("mechanism") or {}).get("type"),
        "handled": (last.get("mechanism") or {}).get("handled"),
        "frames": [f.get("function") for f in (last.get("stacktrace") or {}).get("frames") or []],
        "aws_request_id": lam.get("aws_request_id"),
        "function_name": lam.get("function_name"),
        "aws_region": (event.get("tags") or {}).get("aws_region"),
        "tag_request_id": (event.get("tags") or {}).get("aws_request_id"),
        "transaction": event.get("transaction"),
        "op": ((event.get("contexts") or {}).get("trace") or {}).get("op"),
    }


class RecordingTransport(Transport):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.pending: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        for item in envelope.items:
            if item.type in ("event", "transaction"):
                payload = item.payload.json or {}
                self.pending.append(_summary(item.type, payload))

    def flush(self, timeout: float, callback: Any = None) -> None:
        with open(RECORD, "a") as f:
            for summary in self.pending:
                f.write(json.dumps(summary) + "\n")
            f.write(json.dumps({"type": "flush", "items": len(self.pending)}) + "\n")
        self.pending.clear()


def delivered() -> list[str]:
    """The item types written so far (what Sentry had delivered)."""
    if not os.path.exists(RECORD):
        return []
    with open(RECORD) as f:
        return [json.loads(line)["type"] for line in f if line.strip()]
