"""Telemetry batching and delivery against a loopback listener, without a runtime."""

from __future__ import annotations

import asyncio
import json

from lambdaloop.emulator import telemetry
from lambdaloop.emulator.server import Exchange, Listener


async def _collect(max_items: int, timeout_ms: int, records: int) -> list[list[dict[str, object]]]:
    batches: list[list[dict[str, object]]] = []

    async def receive(exchange: Exchange) -> None:
        batches.append(json.loads(await exchange.read_body()))
        await exchange.respond(200, [])

    listener = Listener(receive)
    port = await listener.start("127.0.0.1", 0)
    hub = telemetry.Hub()
    body = {
        "schemaVersion": "2022-12-13",
        "types": ["function"],
        "buffering": {"maxItems": max_items, "maxBytes": 262144, "timeoutMs": timeout_ms},
        "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{port}/t"},
    }
    hub.subscribe("ext", telemetry.parse_subscription(json.dumps(body).encode()))
    try:
        for i in range(records):
            hub.emit("function", f"line {i}")
            hub.emit("platform.start", {"requestId": str(i)})  # not subscribed: never delivered
        await hub.flush(10)
    finally:
        await hub.close()
        await listener.close()
    return batches


def test_a_full_batch_goes_out_without_waiting_for_the_timeout() -> None:
    # timeoutMs 30 s: only maxItems can have triggered the deliveries before the flush.
    batches = asyncio.run(_collect(max_items=1000, timeout_ms=30_000, records=2500))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    records = [item["record"] for batch in batches for item in batch]
    assert records == [f"line {i}" for i in range(2500)]
    assert {item["type"] for batch in batches for item in batch} == {"function"}


def test_records_are_kept_for_inspection() -> None:
    hub = telemetry.Hub()
    hub.emit("platform.report", {"requestId": "r"})
    assert hub.records[0]["type"] == "platform.report"
    assert hub.records[0]["record"] == {"requestId": "r"}
