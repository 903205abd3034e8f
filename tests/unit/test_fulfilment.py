"""Routing, shipping and delivery: the domain rules, and the service through in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hub.adapters.carriers import shipment_request
from hub.config import parse_config
from hub.domain.fulfilment import (
    Rate,
    Shipment,
    choose_rate,
    fulfilment_id_for,
    plan_fulfilments,
    route,
    ship,
    storefront_shipped,
    track,
)
from hub.domain.orders import Address, Order, OrderLine, OrderStatus, Reservation
from hub.domain.stock import StockLevel
from hub.errors import NotShippedYetError, OutboundError, ShipError
from hub.events import (
    OrderFulfilled,
    OrderFulfilledData,
    OrderStatusChanged,
    ProviderRef,
    ShipmentLine,
    ShipmentTracked,
    ShipmentTrackedData,
    StatusChangeData,
)
from hub.money import Money
from hub.services.fulfilment import FulfilmentService
from hub.services.orders import Outcome

from tests.fakes import FakeLedger, FakePublisher
from tests.fulfilment_fakes import FakeCarrier, FakeShipmentStore, FakeStorefrontWriter

S = OrderStatus
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ORDER_ID = "shopify:1001"
ADDRESS = Address(
    name="Ada Lovelace", street1="1 Analytical Way", city="Boston", state="MA", postal_code="02110", country="US"
)
LINES = (OrderLine("MUG", 2, 1800, "11"), OrderLine("TEE", 1, 3800, "12"))

CONFIG = """
locations:
  - {id: wh-east, country: US}
  - {id: wh-west, country: US}
carrier:
  provider: %s
  from_address: {street1: 9 Dock St, city: Newark, state: NJ, zip: "07102", country: US}
"""


def order(reservations, *, status=S.PAID, lines=LINES, address=ADDRESS) -> Order:
    return Order(
        ORDER_ID,
        "shopify",
        status,
        Money(7400, "USD"),
        lines,
        customer_email="ada@example.com",
        shipping_country="US",
        shipping_address=address,
        reservations=tuple(reservations),
        version=1,
    )


SINGLE = [Reservation("MUG", "wh-west", 2), Reservation("TEE", "wh-west", 1)]
SPLIT = [Reservation("MUG", "wh-east", 2), Reservation("TEE", "wh-west", 1)]


# ------------------------------------------------------------------------------------------ domain
def test_one_location_holding_everything_ships_the_whole_order():
    o = order(SINGLE)
    decision = route(o, ["wh-east", "wh-west"])
    assert decision.applied and o.status is S.FULFILLING
    (f,) = o.fulfilments
    assert f.location == "wh-west" and f.fulfilment_id == fulfilment_id_for(ORDER_ID, "wh-west")
    assert [(ln.sku, ln.quantity, ln.platform_line_id) for ln in f.lines] == [("MUG", 2, "11"), ("TEE", 1, "12")]
    assert decision.summary == "routed from wh-west"


def test_reservations_at_several_locations_split_in_order_of_preference():
    o = order([*reversed(SPLIT), Reservation("MUG", "wh-west", 1, released=1)])
    route(o, ["wh-east", "wh-west"])
    assert [(f.location, [(ln.sku, ln.quantity) for ln in f.lines]) for f in o.fulfilments] == [
        ("wh-east", [("MUG", 2)]),
        ("wh-west", [("TEE", 1)]),
    ]


@pytest.mark.parametrize("status", [S.PENDING_PAYMENT, S.ON_HOLD, S.CANCELLED, S.FULFILLING])
def test_only_a_paid_order_is_routed(status):
    o = order(SINGLE, status=status)
    assert not route(o, ["wh-east"]).applied
    assert o.status is status and not o.fulfilments


def test_an_order_without_reservations_is_not_routed_and_routing_twice_changes_nothing():
    assert not route(order([]), ["wh-east"]).applied
    o = order(SINGLE)
    route(o, ["wh-east", "wh-west"])
    o.status = S.PAID  # even if something put it back to paid
    again = route(o, ["wh-east", "wh-west"])
    assert not again.applied and len(o.fulfilments) == 1


def test_the_order_ships_only_when_every_fulfilment_has_shipped():
    o = order(SPLIT)
    route(o, ["wh-east", "wh-west"])
    east, west = o.fulfilments
    first = ship(o, east.fulfilment_id, Shipment("carrier", "USPS", tracking_number="T1"), NOW)
    assert first.applied and o.status is S.FULFILLING
    assert [(ln.sku, ln.quantity) for ln in first.consume] == [("MUG", 2)]
    second = ship(o, west.fulfilment_id, Shipment("admin", "UPS", tracking_number="T2"), NOW)
    assert second.applied and o.status is S.SHIPPED
    assert [f.status for f in o.fulfilments] == ["shipped", "shipped"]
    again = ship(o, west.fulfilment_id, Shipment("admin", "UPS", tracking_number="T3"), NOW)
    assert not again.applied and o.fulfilments[1].tracking_number == "T2"


def test_delivered_never_comes_before_shipped_and_never_goes_back():
    o = order(SPLIT)
    route(o, ["wh-east", "wh-west"])
    east, west = o.fulfilments
    with pytest.raises(NotShippedYetError):
        track(o, east.fulfilment_id, "delivered", NOW)
    ship(o, east.fulfilment_id, Shipment("carrier", tracking_number="T1"), NOW)
    assert track(o, east.fulfilment_id, "delivered", NOW).applied
    assert o.status is S.FULFILLING  # the other fulfilment has not even shipped
    ship(o, west.fulfilment_id, Shipment("carrier", tracking_number="T2"), NOW)
    assert o.status is S.SHIPPED
    track(o, west.fulfilment_id, "delivered", NOW)
    assert o.status is S.DELIVERED
    late = track(o, west.fulfilment_id, "in_transit", NOW - timedelta(days=1))
    assert not late.applied and o.status is S.DELIVERED and o.fulfilments[1].status == "delivered"


def test_the_storefront_shipping_everything_ships_the_order_and_cancels_what_the_hub_would_ship():
    o = order(SPLIT)
    route(o, ["wh-east", "wh-west"])
    decision = storefront_shipped(o, Shipment("shopify", "UPS", tracking_number="1Z", external_id="99"), [], NOW)
    assert decision.applied and o.status is S.SHIPPED
    assert all(f.status == "shipped" and f.written_back and f.origin == "shopify" for f in o.fulfilments)
    again = storefront_shipped(o, Shipment("shopify", "UPS", tracking_number="1Z", external_id="99"), [], NOW)
    assert not again.applied


def test_the_storefront_shipping_part_of_an_unrouted_order_records_it_and_leaves_the_rest():
    o = order(SINGLE)
    decision = storefront_shipped(o, Shipment("shopify", "UPS", tracking_number="1Z"), [("TEE", 1)], NOW)
    assert decision.applied and o.status is S.PAID
    assert [(ln.sku, ln.quantity) for ln in decision.consume] == [("TEE", 1)]
    (f,) = o.fulfilments
    assert f.status == "shipped" and f.location is None


def test_a_late_shipment_for_a_cancelled_order_is_recorded_not_applied():
    o = order(SINGLE, status=S.CANCELLED)
    assert not storefront_shipped(o, Shipment("shopify", tracking_number="1Z"), [], NOW).applied
    assert o.status is S.CANCELLED and not o.fulfilments


def test_a_line_that_holds_no_stock_neither_ships_nor_keeps_the_order_from_shipping():
    # Adobe's documented order has a downloadable video beside the physical items.
    video = OrderLine("240-LV08", 1, 1800, "4", stocked=False)
    o = order(SINGLE, lines=(*LINES, video))
    route(o, ["wh-east", "wh-west"])
    (f,) = o.fulfilments
    assert [ln.sku for ln in f.lines] == ["MUG", "TEE"]
    assert ship(o, f.fulfilment_id, Shipment("carrier", "USPS", tracking_number="T1"), NOW).applied
    assert o.status is S.SHIPPED


def test_the_storefront_fulfilling_a_digital_line_consumes_nothing():
    video = OrderLine("240-LV08", 1, 1800, "4", stocked=False)
    o = order(SINGLE, lines=(*LINES, video))
    decision = storefront_shipped(o, Shipment("shopify", tracking_number="1Z"), [("240-LV08", 1)], NOW)
    assert not decision.applied and decision.consume == []
    shipped = storefront_shipped(o, Shipment("shopify", tracking_number="1Z"), [], NOW)
    assert sorted((ln.sku, ln.quantity) for ln in shipped.consume) == [("MUG", 2), ("TEE", 1)]
    assert o.status is S.SHIPPED


def test_the_cheapest_rate_that_meets_the_service_level_is_chosen():
    rates = [
        Rate("r1", "USPS", "Priority", "7.90", "USD", 2),
        Rate("r2", "USPS", "GroundAdvantage", "5.10", "USD", 5),
        Rate("r3", "UPS", "Ground", "6.80", "USD", 3),
        Rate("r4", "FedEx", "Express", "31.00", "USD", 1),
    ]
    assert choose_rate(rates, max_days=None, services=[], carriers=[]).rate_id == "r2"
    assert choose_rate(rates, max_days=3, services=[], carriers=[]).rate_id == "r3"
    assert choose_rate(rates, max_days=3, services=[], carriers=["usps"]).rate_id == "r1"
    assert choose_rate(rates, max_days=None, services=["express"], carriers=[]).rate_id == "r4"
    assert choose_rate(rates, max_days=0, services=[], carriers=[]) is None


# ----------------------------------------------------------------------------------------- service
def status_changed(order_id=ORDER_ID, status="paid", reserved=True, n=1) -> OrderStatusChanged:
    return OrderStatusChanged(
        event_id=f"evt_status_{n}",
        source="hub",
        channel="shopify",
        occurred_at=NOW,
        provider=ProviderRef(topic="order/status"),
        data=StatusChangeData(
            order_id=order_id, previous=None, status=status, reserved=reserved, cause_event_id="evt_placed"
        ),
    )


@pytest.fixture
def world():
    ledger, publisher = FakeLedger(), FakePublisher()
    for sku, loc in (("MUG", "wh-east"), ("TEE", "wh-west"), ("MUG", "wh-west")):
        ledger.levels[(sku, loc)] = StockLevel(sku, loc, 10, 2)
    return ledger, publisher


def units(ledger, sku, location):
    level = ledger.levels[(sku, location)]
    return level.available, level.reserved


def make(world, provider="easypost", carrier=None, storefronts=None, shipments=None):
    ledger, publisher = world
    config = parse_config(CONFIG % provider)
    carrier = carrier or FakeCarrier()
    storefronts = storefronts or FakeStorefrontWriter()
    shipments = shipments or FakeShipmentStore()
    service = FulfilmentService(
        ledger,
        publisher,
        lambda: config,
        shipments,
        carrier=lambda _c: carrier,
        storefronts=lambda _c: storefronts,
        shipment_request=shipment_request,
        clock=lambda: NOW,
    )
    return service, carrier, storefronts, shipments


def test_a_paid_order_is_routed_labelled_and_shipped_once(world):
    ledger, publisher = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    service, carrier, _, shipments = make(world)

    service.handle(status_changed())
    stored = ledger.orders[ORDER_ID]
    assert stored.status is S.SHIPPED
    (f,) = stored.fulfilments
    assert (f.status, f.carrier, f.origin, f.label_url) == (
        "shipped",
        "USPS",
        "carrier",
        "https://labels.example/shp_1.pdf",
    )
    assert units(ledger, "MUG", "wh-west") == (10, 0)  # consumed, not released
    assert shipments.find_tracking(f.tracking_number) == (ORDER_ID, f.fulfilment_id)
    assert publisher.types().count("FulfilmentShipped") == 1 and "OrderRouted" in publisher.types()
    assert [e.data.status for e in publisher.events if e.type == "OrderStatusChanged"] == ["fulfilling", "shipped"]

    service.handle(status_changed())  # the same event again
    assert carrier.created == [f.fulfilment_id] and carrier.bought == ["shp_1"]
    assert units(ledger, "MUG", "wh-west") == (10, 0)


def test_a_failed_label_purchase_fails_and_its_retry_reuses_the_shipment(world):
    ledger, _ = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    service, carrier, _, _ = make(world, carrier=FakeCarrier(fail_buys=1))
    with pytest.raises(OutboundError):
        service.handle(status_changed())
    assert ledger.orders[ORDER_ID].status is S.FULFILLING
    service.handle(status_changed())
    assert ledger.orders[ORDER_ID].status is S.SHIPPED
    assert len(carrier.created) == 1 and carrier.bought == ["shp_1"]


def test_without_a_carrier_fulfilments_wait_for_a_tracking_number(world):
    ledger, _ = world
    ledger.orders[ORDER_ID] = order(SPLIT)
    service, carrier, _, shipments = make(world, provider="none")
    service.handle(status_changed())
    assert ledger.orders[ORDER_ID].status is S.FULFILLING and not carrier.created
    with pytest.raises(ShipError, match="several locations"):
        service.ship_manually(ORDER_ID, tracking_number="1Z1", carrier="UPS")
    east, west = (f.fulfilment_id for f in ledger.orders[ORDER_ID].fulfilments)
    service.ship_manually(ORDER_ID, tracking_number="1Z1", carrier="UPS", fulfilment_id=east)
    after = service.ship_manually(ORDER_ID, tracking_number="1Z2", carrier="UPS", fulfilment_id=west)
    assert after.status is S.SHIPPED and shipments.find_tracking("1z2") == (ORDER_ID, west)
    assert service.ship_manually(ORDER_ID, tracking_number="1Z2", carrier="UPS", fulfilment_id=west) is not None
    with pytest.raises(ShipError, match="already shipped"):
        service.ship_manually(ORDER_ID, tracking_number="OTHER", carrier="UPS", fulfilment_id=west)


def test_a_manual_shipment_of_an_unrouted_or_unknown_order_is_refused(world):
    ledger, _ = world
    service, *_ = make(world, provider="none")
    with pytest.raises(ShipError) as unknown:
        service.ship_manually("shopify:nope", tracking_number="1", carrier="UPS")
    assert unknown.value.status_code == 404
    ledger.orders[ORDER_ID] = order(SINGLE)
    with pytest.raises(ShipError, match="not been routed"):
        service.ship_manually(ORDER_ID, tracking_number="1", carrier="UPS")


def test_write_back_happens_once_and_a_failure_is_retried(world):
    ledger, publisher = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    storefronts = FakeStorefrontWriter(fail_next=1)
    service, *_ = make(world, storefronts=storefronts)
    service.handle(status_changed())
    (shipped,) = [e for e in publisher.events if e.type == "FulfilmentShipped"]
    with pytest.raises(OutboundError):
        service.handle(shipped)
    assert not ledger.orders[ORDER_ID].fulfilments[0].written_back
    service.handle(shipped)
    service.handle(shipped)
    assert storefronts.writes == [(ORDER_ID, shipped.data.fulfilment_id)]
    assert ledger.orders[ORDER_ID].fulfilments[0].written_back
    assert publisher.types().count("FulfilmentWrittenBack") == 1


def test_a_channel_without_an_api_is_not_marked_written_back(world):
    ledger, publisher = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    service, *_ = make(world, storefronts=FakeStorefrontWriter(known=False))
    service.handle(status_changed())
    (shipped,) = [e for e in publisher.events if e.type == "FulfilmentShipped"]
    service.handle(shipped)
    stored = ledger.orders[ORDER_ID]
    assert not stored.fulfilments[0].written_back
    assert "not written back" in stored.timeline[-1].summary and not stored.timeline[-1].applied


def fulfilled(tracking="1ZSHOP", lines=(), n=1) -> OrderFulfilled:
    return OrderFulfilled(
        event_id=f"evt_fulfilled_{n}",
        source="shopify",
        channel="shopify",
        occurred_at=NOW,
        provider=ProviderRef(topic="orders/fulfilled"),
        data=OrderFulfilledData(
            order_id=ORDER_ID, fulfilment_id=f"55{n}", carrier="UPS", tracking_number=tracking, lines=list(lines)
        ),
    )


def test_the_storefront_s_own_shipment_ships_the_order_without_writing_back(world):
    ledger, publisher = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    service, _, storefronts, _ = make(world, provider="none")
    service.handle(status_changed())
    service.handle(fulfilled(lines=[ShipmentLine(sku="MUG", quantity=2), ShipmentLine(sku="TEE", quantity=1)]))
    stored = ledger.orders[ORDER_ID]
    assert stored.status is S.SHIPPED and stored.fulfilments[0].origin == "shopify"
    for event in [e for e in publisher.events if e.type == "FulfilmentShipped"]:
        service.handle(event)
    assert storefronts.writes == []
    assert ledger.levels[("MUG", "wh-west")].reserved == 0


def tracked(number: str, status: str, n: int) -> ShipmentTracked:
    return ShipmentTracked(
        event_id=f"evt_track_{n}",
        source="easypost",
        channel="easypost",
        occurred_at=NOW + timedelta(hours=n),
        provider=ProviderRef(topic="tracker.updated"),
        data=ShipmentTrackedData(carrier="USPS", tracking_number=number, status=status),
    )


def test_the_carrier_s_delivery_delivers_the_order_and_late_updates_change_nothing(world):
    ledger, publisher = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    service, *_ = make(world)
    service.handle(status_changed())
    number = ledger.orders[ORDER_ID].fulfilments[0].tracking_number
    assert service.handle(tracked(number, "in_transit", 1)) == "applied"
    assert ledger.orders[ORDER_ID].status is S.SHIPPED
    service.handle(tracked(number, "delivered", 2))
    assert ledger.orders[ORDER_ID].status is S.DELIVERED
    service.handle(tracked(number, "out_for_delivery", 3))
    stored = ledger.orders[ORDER_ID]
    assert stored.status is S.DELIVERED and not stored.timeline[-1].applied
    assert [e.data.status for e in publisher.events if e.type == "OrderStatusChanged"][-1] == "delivered"
    assert service.handle(tracked("UNKNOWN-NUMBER", "delivered", 4)) == "unknown shipment"


def test_a_delivery_reported_before_the_shipment_is_recorded_is_retried_not_lost(world):
    ledger, _ = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    service, _, _, shipments = make(world, provider="none")
    service.handle(status_changed())
    fid = ledger.orders[ORDER_ID].fulfilments[0].fulfilment_id
    shipments.index_tracking("EARLY1", ORDER_ID, fid)
    with pytest.raises(NotShippedYetError):
        service.handle(tracked("EARLY1", "delivered", 1))
    service.ship_manually(ORDER_ID, tracking_number="EARLY1", carrier="USPS")
    service.handle(tracked("EARLY1", "delivered", 1))
    assert ledger.orders[ORDER_ID].status is S.DELIVERED


def test_a_status_change_that_is_not_paid_and_reserved_is_ignored(world):
    ledger, _ = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    service, *_ = make(world)
    assert service.handle(status_changed(reserved=False)) == "ignored"
    assert service.handle(status_changed(status="pending_payment")) == "ignored"
    assert ledger.orders[ORDER_ID].status is S.PAID


def test_a_missing_address_leaves_the_fulfilment_waiting(world):
    ledger, _ = world
    ledger.orders[ORDER_ID] = order(SINGLE, address=None)
    service, carrier, *_ = make(world)
    service.handle(status_changed())
    assert ledger.orders[ORDER_ID].status is S.FULFILLING and not carrier.created


def test_concurrent_writers_are_retried_on_the_version(world):
    ledger, _ = world
    ledger.orders[ORDER_ID] = order(SINGLE)
    ledger.conflicts_before_save = 2
    service, *_ = make(world)
    service.handle(status_changed())
    assert ledger.orders[ORDER_ID].status is S.SHIPPED
    assert service.handle(status_changed()).startswith(Outcome.DUPLICATE.value)


def test_a_split_plan_keeps_the_configured_preference():
    o = order([Reservation("MUG", "wh-west", 1), Reservation("MUG", "wh-east", 1)])
    assert [f.location for f in plan_fulfilments(o, ["wh-west", "wh-east"])] == ["wh-west", "wh-east"]
