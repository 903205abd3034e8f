"""hub_event: the one constructor of the events the hub publishes itself."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.events import LowStock, LowStockData, OrderRouted, OrderRoutedData, event_id_for, hub_event

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def routed(*key: str, cause: str | None = "evt_cause") -> OrderRouted:
    return hub_event(
        OrderRouted,
        key=key,
        channel="shopify:demo",
        occurred_at=AT,
        topic="order/routed",
        cause=cause,
        data=OrderRoutedData(order_id="ord_1", fulfilments=[], split=False),
    )


def test_the_envelope_says_the_hub_sent_it_about_what_and_when() -> None:
    event = routed("ord_1", "routed", "evt_cause")

    assert isinstance(event, OrderRouted)
    assert event.type == "OrderRouted"
    assert event.source == "hub"
    assert event.channel == "shopify:demo"
    assert event.occurred_at == AT
    assert event.provider.topic == "order/routed"
    assert event.provider.event_id == "evt_cause"
    assert event.data.order_id == "ord_1"


def test_the_id_is_derived_from_the_key_as_every_hub_id_is() -> None:
    assert routed("ord_1", "routed", "evt_cause").event_id == event_id_for("hub", "ord_1", "routed", "evt_cause")


def test_a_redelivered_cause_gives_the_same_id_and_another_cause_another() -> None:
    first = routed("ord_1", "routed", "evt_a")

    assert routed("ord_1", "routed", "evt_a").event_id == first.event_id
    assert routed("ord_1", "routed", "evt_b").event_id != first.event_id


def test_an_event_without_a_cause_records_no_provider_event_id() -> None:
    event = hub_event(
        LowStock,
        key=("SKU-1", "LowStock", "1"),
        channel="hub",
        occurred_at=AT,
        topic="inventory/low",
        data=LowStockData(sku="SKU-1", available=2, threshold=5, locations={"main": 2}),
    )

    assert event.provider.event_id is None
    assert event.provider.topic == "inventory/low"
