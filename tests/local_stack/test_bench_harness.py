"""The benchmark's waiting and its goals section: which events mark an order's moments, that the
benchmark's rule matches exactly those on the bus, and that each goal is judged from its figure."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from hub.adapters.eventbridge import EventBridgePublisher
from hub.events import OrderRouted, OrderRoutedData, OrderStatusChanged, ProviderRef, StatusChangeData
from moto.events.models import EventPattern

from bench import sustained
from bench.completions import FULFILLING, PATTERN, RESERVED, moments_of

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class CapturingEvents:
    def __init__(self) -> None:
        self.entries: list[dict] = []

    def put_events(self, Entries):
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i in range(len(Entries))]}


def changed(previous: str | None, status: str, reserved: bool, n: int = 1) -> OrderStatusChanged:
    return OrderStatusChanged(
        event_id=f"evt_status_{n}",
        source="hub",
        channel="shopify",
        occurred_at=NOW,
        provider=ProviderRef(topic="order/status"),
        data=StatusChangeData(
            order_id="shopify:1001", previous=previous, status=status, reserved=reserved, cause_event_id="evt_placed"
        ),
    )


def on_the_bus(event) -> dict:
    """The event as a rule target receives it: what the hub's publisher puts, in EventBridge's envelope."""
    events = CapturingEvents()
    EventBridgePublisher(events, "commerce-hub-dev").publish([event])
    (entry,) = events.entries
    return {"source": entry["Source"], "detail-type": entry["DetailType"], "detail": json.loads(entry["Detail"])}


@pytest.mark.parametrize(
    ("event", "matched", "moments"),
    [
        (changed(None, "paid", True), True, [RESERVED]),  # stock_updates recorded it, every unit held
        (changed(None, "pending_payment", True), True, [RESERVED]),
        (changed("paid", "fulfilling", True), True, [FULFILLING]),  # order_routing routed it
        (changed("fulfilling", "shipped", True), True, []),
        (changed(None, "on_hold", False), False, []),  # recorded, short of stock: nothing held
        (
            OrderRouted(
                event_id="evt_routed",
                source="hub",
                channel="shopify",
                occurred_at=NOW,
                provider=ProviderRef(topic="order/routed"),
                data=OrderRoutedData(order_id="shopify:1001", fulfilments=[], split=False),
            ),
            False,
            [],
        ),
    ],
)
def test_the_rule_forwards_reserved_orders_status_changes_and_the_reader_finds_the_moments(
    event, matched: bool, moments: list[str]
) -> None:
    message = on_the_bus(event)
    # moto's own matcher: the emulator routes with it.
    assert EventPattern.load(json.dumps(PATTERN)).matches_event(message) is matched
    assert moments_of(message["detail"]) == moments


def results(**overrides: float) -> dict:
    figures = {
        "orders": 1000,
        "senders": 4,
        "window": 100,
        "rss_mb": {str(k): 200.0 + k / 10 for k in range(0, 1001, 100)},
        "rss_start_mb": 200.0,
        "rss_window_mb": 210.0,
        "rss_all_mb": 300.0,
        "rss_drained_mb": 301.0,
        "rss_ratio": 1.43,
        "orders_per_second": 8.5,
        "first_window_per_second": 9.0,
        "last_window_per_second": 8.1,
        "throughput_ratio": 0.9,
        "fulfilling_per_second": 8.2,
        "reserved_p50_ms": 400.0,
        "reserved_p95_ms": 1400.0,
        "fulfilling_p50_ms": 700.0,
        "fulfilling_p95_ms": 2000.0,
        "intake_p50_ms": 90.0,
        "intake_p95_ms": 250.0,
        "retried_503": 0,
        "wait_calls": {"ReceiveMessage": 1500, "DeleteMessageBatch": 1490},
        "wall_seconds": 130.0,
        "load_average": [1.2, 2.0],
        "cores": 2,
    }
    figures.update(overrides)
    return figures


def goal_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ") and ("met" in line)]


def test_the_section_judges_every_goal_met_from_its_figure() -> None:
    rows = goal_rows(sustained.render(results()))
    assert len(rows) == 5
    assert all(row.endswith("| met |") for row in rows)
    assert "| emulator RSS after 1,000 orders / after 100 | 300.0 MB / 210.0 MB = **1.43x** |" in rows[0]
    assert "orders 901-1,000 / orders 1-100" in rows[1]


@pytest.mark.parametrize(
    ("figure", "value", "row"),
    [
        ("rss_ratio", 2.01, 0),
        ("throughput_ratio", 0.79, 1),
        ("orders_per_second", 7.9, 2),
        ("reserved_p95_ms", 1500.1, 3),
        ("intake_p95_ms", 300.1, 4),
    ],
)
def test_a_figure_past_its_goal_is_not_met(figure: str, value: float, row: int) -> None:
    rows = goal_rows(sustained.render(results(**{figure: value})))
    assert [i for i, line in enumerate(rows) if line.endswith("| **not met** |")] == [row]


def test_rss_is_read_from_proc() -> None:
    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads /proc (Linux)")
    assert sustained.rss_mb(os.getpid()) > 1
