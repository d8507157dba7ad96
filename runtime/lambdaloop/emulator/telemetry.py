"""Telemetry API (2022-07-01): subscriptions, records, batching and HTTP delivery.

The classic RIE answers ``Telemetry.NotSupported``; this emulator delivers what Lambda
does: each subscriber gets JSON arrays of ``{"time", "type", "record"}`` by HTTP POST,
batched by its ``buffering`` settings (maxItems, maxBytes, timeoutMs). Destinations must be
in the sandbox: ``sandbox.localdomain``/``sandbox`` (as on Lambda) or a loopback name, all
delivered to 127.0.0.1. TCP destinations are refused with a ValidationError (not emulated).

Parsing and record shapes are pure; ``Subscriber`` and ``Hub`` own the asyncio plumbing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from lambdaloop.emulator import http

SCHEMA_VERSIONS = frozenset({"2022-07-01", "2022-12-13", "2025-01-29"})
TYPES = frozenset({"platform", "function", "extension"})
SANDBOX_HOSTS = frozenset({"sandbox.localdomain", "sandbox", "127.0.0.1", "localhost"})
# (default, minimum, maximum), from the Telemetry API reference.
BUFFERING = {
    "maxItems": (10_000, 1_000, 10_000),
    "maxBytes": (262_144, 262_144, 1_048_576),
    "timeoutMs": (1_000, 25, 30_000),
}
# Records kept in memory for tests and tools (the oldest are dropped beyond this).
KEEP_RECORDS = 10_000


class SubscriptionError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Subscription:
    types: frozenset[str]
    max_items: int
    max_bytes: int
    timeout_ms: int
    host: str
    port: int
    path: str


def parse_subscription(body: bytes) -> Subscription:
    """Validate a PUT /telemetry body; raises SubscriptionError with the reason."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise SubscriptionError(f"body is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise SubscriptionError("body must be a JSON object")
    if doc.get("schemaVersion") not in SCHEMA_VERSIONS:
        raise SubscriptionError(f"schemaVersion must be one of {sorted(SCHEMA_VERSIONS)}")
    types = doc.get("types")
    if not isinstance(types, list) or not types or not set(types) <= TYPES:
        raise SubscriptionError(f"types must be a non-empty list of {sorted(TYPES)}")
    buffering = doc.get("buffering") or {}
    if not isinstance(buffering, dict):
        raise SubscriptionError("buffering must be an object")
    values: dict[str, int] = {}
    for key, (default, low, high) in BUFFERING.items():
        value = buffering.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise SubscriptionError(f"buffering.{key} must be an integer in [{low}, {high}]")
        values[key] = value
    destination = doc.get("destination")
    if not isinstance(destination, dict) or destination.get("protocol") != "HTTP":
        raise SubscriptionError("destination.protocol must be HTTP (TCP is not emulated)")
    uri = destination.get("URI")
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or parts.scheme != "http" or parts.hostname not in SANDBOX_HOSTS or not parts.port:
        raise SubscriptionError("destination.URI must be http://sandbox.localdomain:PORT/...")
    if parts.port == 9001:
        raise SubscriptionError("port 9001 is reserved")
    return Subscription(
        frozenset(types),
        values["maxItems"],
        values["maxBytes"],
        values["timeoutMs"],
        "127.0.0.1",
        parts.port,
        parts.path or "/",
    )


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(event_type: str, record: object, time: str | None = None) -> dict[str, object]:
    return {"time": time or now_iso(), "type": event_type, "record": record}


def category(event_type: str) -> str:
    """platform.* -> platform; function; extension."""
    return event_type.split(".", 1)[0]


def batch_body(items: list[dict[str, object]]) -> bytes:
    return json.dumps(items, separators=(",", ":")).encode()


class Subscriber:
    """One destination: buffers records and POSTs them in batches from its own task."""

    def __init__(self, extension_name: str, subscription: Subscription) -> None:
        self.extension_name = extension_name
        self.subscription = subscription
        self._items: deque[tuple[dict[str, object], int]] = deque()
        self._flush_requested = False
        self._bytes = 0
        self._wake = asyncio.Event()
        self._flushed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered_batches = 0

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def add(self, item: dict[str, object]) -> None:
        size = len(json.dumps(item))
        self._items.append((item, size))
        self._bytes += size
        if self._full():
            self._wake.set()

    def _full(self) -> bool:
        sub = self.subscription
        return len(self._items) >= sub.max_items or self._bytes >= sub.max_bytes

    def _take_batch(self) -> list[dict[str, object]]:
        """The oldest records, at most maxItems and (but for a single huge record) maxBytes."""
        sub = self.subscription
        batch: list[dict[str, object]] = []
        size = 0
        while self._items and len(batch) < sub.max_items:
            item, item_size = self._items[0]
            if batch and size + item_size > sub.max_bytes:
                break
            self._items.popleft()
            self._bytes -= item_size
            batch.append(item)
            size += item_size
        return batch

    async def flush(self, timeout: float) -> None:
        """Deliver what is buffered now (at shutdown), waiting at most ``timeout``."""
        if not self._items:
            return
        self._flushed.clear()
        self._flush_requested = True
        self._wake.set()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._flushed.wait(), timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            timed_out = False
            try:
                await asyncio.wait_for(self._wake.wait(), self.subscription.timeout_ms / 1000)
            except asyncio.TimeoutError:
                timed_out = True
            self._wake.clear()
            # The timeout and an explicit flush send everything; a full buffer sends full
            # batches and leaves the rest for the timeout, as Lambda's buffering does.
            send_all = timed_out or self._flush_requested
            self._flush_requested = False
            while self._items and (send_all or self._full()):
                await self._deliver(batch_body(self._take_batch()))
                self.delivered_batches += 1
            if not self._items:
                self._flushed.set()

    async def _deliver(self, body: bytes) -> None:
        # Lambda retries while the listener is not up yet; a few tries with backoff is enough
        # locally, after which the batch is dropped (and said so), never blocking the function.
        sub = self.subscription
        request = http.render_request(
            "POST", sub.path, [("Host", f"sandbox.localdomain:{sub.port}"), ("Content-Type", "application/json")], body
        )
        delay = 0.05
        for _attempt in range(6):
            try:
                await asyncio.wait_for(_post(sub.host, sub.port, request), 5.0)
                return
            except (OSError, asyncio.TimeoutError, http.HttpError):
                await asyncio.sleep(delay)
                delay *= 2
        print(f"lambdaloop emulator: telemetry batch to {self.extension_name} dropped", file=sys.stderr)


async def _post(host: str, port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        parser = http.Parser("response")
        status = 0
        while True:
            data = await reader.read(65536)
            events = parser.feed(data) if data else parser.feed_eof()
            for event in events:
                if isinstance(event, http.ResponseHead):
                    status = event.status
                elif isinstance(event, http.EndOfMessage):
                    return status
            if not data:
                raise http.HttpError("listener closed without an answer")
    finally:
        writer.close()


class Hub:
    """Fans records out to subscribers and keeps the recent ones for inspection."""

    def __init__(self, on_record: Callable[[dict[str, object]], None] | None = None) -> None:
        self.subscribers: list[Subscriber] = []
        self.records: list[dict[str, object]] = []
        self._on_record = on_record
        # Replaced subscriptions, stopped at close (their last batch may still be in flight).
        self._retired: list[Subscriber] = []

    def subscribe(self, extension_name: str, subscription: Subscription) -> Subscriber:
        # A new subscription from the same extension replaces its old one.
        for old in [s for s in self.subscribers if s.extension_name == extension_name]:
            self.subscribers.remove(old)
            self._retired.append(old)
        subscriber = Subscriber(extension_name, subscription)
        self.subscribers.append(subscriber)
        subscriber.start()
        return subscriber

    def emit(self, event_type: str, record: object) -> None:
        item = envelope(event_type, record)
        self.records.append(item)
        if len(self.records) > KEEP_RECORDS:
            del self.records[: len(self.records) - KEEP_RECORDS]
        if self._on_record is not None:
            self._on_record(item)
        kind = category(event_type)
        for subscriber in self.subscribers:
            if kind in subscriber.subscription.types:
                subscriber.add(item)

    async def flush(self, timeout: float) -> None:
        await asyncio.gather(*(s.flush(timeout) for s in self.subscribers))

    async def close(self) -> None:
        subscribers, self.subscribers = [*self.subscribers, *self._retired], []
        self._retired = []
        await asyncio.gather(*(s.close() for s in subscribers))
