"""One invocation as the emulator carries it: what the invoker asked (pure parts), and the
channel that hands the runtime's response to the invoker as it arrives.

The channel is a bounded queue of ``Head``/``Chunk``/``Done`` items, so a runtime streaming
faster than the invoker reads is slowed down (backpressure) instead of buffered without end.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections import deque
from dataclasses import dataclass

from lambdaloop.emulator import http
from lambdaloop.emulator.outcome import Outcome


class BadInvoke(Exception):
    """The invoker's request cannot be turned into an invocation (answered 400)."""


@dataclass(frozen=True, slots=True)
class InvokeRequest:
    body: bytes
    request_id: str
    trace_id: str | None = None
    client_context: str | None = None
    cognito_identity: str | None = None
    tenant_id: str | None = None


def invoke_request(body: bytes, headers: http.Headers) -> InvokeRequest:
    """Read the invoke API's headers the way the RIE does, plus the trace id it drops.

    ``X-Amz-Client-Context`` is base64 (as the Invoke API takes it) and reaches the runtime
    decoded; ``X-Amz-Cognito-Identity`` (not an RIE header) passes the identity JSON as is.
    """
    client_context = headers.get("x-amz-client-context") or None
    if client_context is not None:
        try:
            client_context = base64.b64decode(client_context, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise BadInvoke("X-Amz-Client-Context must be base64-encoded JSON") from None
    return InvokeRequest(
        body=body,
        request_id=headers.get("x-amzn-requestid") or str(uuid.uuid4()),
        trace_id=headers.get("x-amzn-trace-id") or None,
        client_context=client_context,
        cognito_identity=headers.get("x-amz-cognito-identity") or None,
        tenant_id=headers.get("x-amz-tenant-id") or None,
    )


def next_headers(
    request: InvokeRequest, invocation_id: str, deadline_ms: int, function_arn: str
) -> list[tuple[str, str]]:
    """Headers of the /next answer. Only non-empty values are sent, as RAPID does, in the
    order the RIE writes them (Content-Type, then the Lambda-* names sorted)."""
    values = {
        "Lambda-Runtime-Aws-Request-Id": request.request_id,
        "Lambda-Runtime-Aws-Tenant-Id": request.tenant_id,
        "Lambda-Runtime-Client-Context": request.client_context,
        "Lambda-Runtime-Cognito-Identity": request.cognito_identity,
        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
        "Lambda-Runtime-Invocation-Id": invocation_id,
        "Lambda-Runtime-Invoked-Function-Arn": function_arn,
        "Lambda-Runtime-Trace-Id": request.trace_id,
    }
    return [("Content-Type", "application/json"), *((k, v) for k, v in sorted(values.items()) if v)]


def strip_error_cause(body: bytes, content_type: str | None) -> bytes:
    """RAPID accepts ``application/vnd.aws.lambda.error.cause+json`` bodies that embed the
    X-Ray ``errorCause`` and hides it from the caller; so do we."""
    if not content_type or "error.cause+json" not in content_type:
        return body
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if not isinstance(doc, dict) or "errorCause" not in doc:
        return body
    doc.pop("errorCause")
    return json.dumps(doc, separators=(",", ":")).encode()


def decode_error_trailer(error_type: str, error_body: str | None) -> bytes:
    """The error JSON of a mid-stream failure. A body that is not valid base64 only loses
    the details (RAPID does the same); the type from the trailer always survives."""
    if error_body:
        try:
            decoded = base64.b64decode(error_body, validate=True)
            json.loads(decoded)
            return decoded
        except (binascii.Error, ValueError):
            pass
    return json.dumps({"errorMessage": "", "errorType": error_type}, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Head:
    content_type: str
    streaming: bool


@dataclass(frozen=True, slots=True)
class Chunk:
    """Response bytes, one piece per write of the runtime (a chunk of its upload, or the
    part of one that had arrived), as many as came in together: one queue item per read
    from the runtime rather than per piece."""

    pieces: list[bytes]
    size: int


@dataclass(frozen=True, slots=True)
class Done:
    outcome: Outcome


Item = Head | Chunk | Done


class Channel:
    """A queue with backpressure for data and none for the end: ``close`` always goes
    through, and once closed, writers blocked on a full channel are released and their
    data dropped (the invoker already has its answer).

    Full means ``high_water`` items or ``high_water_bytes`` of chunk data, whichever comes
    first: an item holds what one read from the runtime brought, up to a MiB, so a count
    alone would not bound the memory held for a slow invoker.
    """

    def __init__(self, high_water: int = 64, high_water_bytes: int = 2 * 1024 * 1024) -> None:
        self._items: deque[Item] = deque()
        self._high_water = high_water
        self._high_water_bytes = high_water_bytes
        self._bytes = 0
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self.closed = False

    def _full(self) -> bool:
        return len(self._items) >= self._high_water or self._bytes >= self._high_water_bytes

    async def put(self, item: Item) -> None:
        while not self.closed and self._full():
            self._writable.clear()
            await self._writable.wait()
        if not self.closed:
            if type(item) is Chunk:
                self._bytes += item.size
            self._items.append(item)
            self._readable.set()

    def close(self, last: Item) -> None:
        self.closed = True
        self._items.append(last)
        self._readable.set()
        self._writable.set()

    async def get(self) -> Item:
        while not self._items:
            self._readable.clear()
            await self._readable.wait()
        item = self._items.popleft()
        if type(item) is Chunk:
            self._bytes -= item.size
        if not self._full():
            self._writable.set()
        return item


class Invocation:
    """An invoke from enqueue to outcome. ``finish`` is idempotent: the first outcome wins,
    which is what guarantees the invoker exactly one answer whatever races (a timeout and a
    late response, a crash mid-stream) happen behind it."""

    def __init__(self, request: InvokeRequest, streaming_client: bool = False) -> None:
        self.request = request
        self.streaming_client = streaming_client
        self.invocation_id = str(uuid.uuid4())
        self.deadline_ms = 0
        self.started = 0.0  # monotonic time of delivery to the runtime
        self.outcome: Outcome | None = None
        # Set when the runtime has begun its /response or /error: a second post is refused.
        self.post_kind: str | None = None
        # An error decided by the emulator that becomes the outcome at the runtime's next move.
        self.pending: Outcome | None = None
        self.produced_bytes = 0
        self.channel = Channel()
        self.done = asyncio.Event()

    @property
    def request_id(self) -> str:
        return self.request.request_id

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    async def send_head(self, content_type: str, streaming: bool) -> None:
        if not self.finished:
            await self.channel.put(Head(content_type, streaming))

    async def send_data(self, pieces: list[bytes]) -> None:
        pieces = [piece for piece in pieces if piece]
        if pieces and not self.finished:
            size = sum(map(len, pieces))
            self.produced_bytes += size
            await self.channel.put(Chunk(pieces, size))

    def finish(self, outcome: Outcome) -> bool:
        if self.outcome is not None:
            return False
        self.outcome = outcome
        if outcome.kind == "success" and outcome.body:
            self.produced_bytes += len(outcome.body)
        self.channel.close(Done(outcome))
        self.done.set()
        return True
