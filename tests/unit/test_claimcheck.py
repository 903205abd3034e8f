"""Claim check: an event over EventBridge's size limit travels by reference and comes back whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hub.adapters.eventbridge import EventBridgePublisher
from hub.bus import HubBusEvent
from hub.claimcheck import MAX_DETAIL_BYTES, ClaimChecked, resolve
from hub.errors import PublishError
from hub.events import LineItem, OrderData, OrderPlaced, ProviderRef


class FakeEvents:
    def __init__(self) -> None:
        self.entries: list[dict] = []

    def put_events(self, Entries):
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i in range(len(Entries))]}


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put(self, key: str, body: bytes) -> str:
        self.objects[("payloads", key)] = body
        return "payloads"

    def get(self, location: str, key: str) -> bytes:
        return self.objects[(location, key)]


def order(lines: int) -> OrderPlaced:
    return OrderPlaced(
        event_id="evt_big",
        source="shopify",
        channel="shopify",
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
        provider=ProviderRef(topic="orders/create"),
        data=OrderData(
            order_id="shopify:1",
            platform_order_id="1",
            currency="USD",
            total=100 * lines,
            paid=True,
            lines=[LineItem(sku=f"SKU-{i % 7}", quantity=1, unit_price=100, title="x" * 200) for i in range(lines)],
        ),
    )


def bus_event(entry: dict) -> HubBusEvent:
    return HubBusEvent.model_validate(
        {
            "version": "0",
            "id": "1",
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": "123456789012",
            "time": "2026-11-20T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": json.loads(entry["Detail"]),
        }
    )


def test_a_small_event_travels_whole():
    events, store = FakeEvents(), MemoryStore()
    EventBridgePublisher(events, "bus", store).publish([order(3)])
    assert not store.objects
    assert isinstance(bus_event(events.entries[0]).detail, OrderPlaced)


def test_a_large_event_travels_by_reference_and_resolves_whole():
    events, store = FakeEvents(), MemoryStore()
    big = order(1500)
    assert len(big.model_dump_json()) > MAX_DETAIL_BYTES
    EventBridgePublisher(events, "bus", store).publish([big])
    entry = events.entries[0]
    assert len(entry["Detail"]) < 2000
    detail = bus_event(entry).detail
    assert isinstance(detail, ClaimChecked)
    assert detail.claim_check.key == "events/2026/11/20/evt_big.json"
    assert resolve(detail, store) == big


def test_without_a_payload_store_a_large_event_is_refused_not_truncated():
    with pytest.raises(PublishError, match="too large for the bus"):
        EventBridgePublisher(FakeEvents(), "bus").publish([order(1500)])
