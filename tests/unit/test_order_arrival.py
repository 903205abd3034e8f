"""Whichever of an order's deliveries arrives first records it; a later, older one changes nothing.

Each storefront's deliveries are parsed by its intake source and their events handed to
stock_updates, payment_confirmation and order_routing (in-memory fakes) the way the EventBridge
rules in template.yaml route them, follow-on events included, one delivery after the other.

Vendor-shaped payloads (events/payloads/):
- shopify_orders_{create,paid,cancelled,fulfilled,updated}.json: Shopify's REST Order resource as its
  webhook reference example sends it (order 820982911946154508, the id of Shopify's own sample
  order), one per topic, with the financial, fulfilment and cancellation state each topic shows.
- woocommerce_order_{created,updated}.json: the WooCommerce REST API v3 order (woocommerce-rest-api-docs,
  "Retrieve an order"), which is what a WooCommerce webhook delivers.
- bigcommerce_store_order_{created,statusUpdated}.json: BigCommerce webhook payloads (scope, data
  {type, id}, hash), completed from the V2 Orders API of tests/bigcommerce_api.py (V2 order shape,
  RFC 2822 dates, four-decimal amounts).
- magento_sales_order_{place_after,save_commit_after,invoice_pay}.json: Adobe I/O Events envelopes
  of Adobe Commerce observer events with the sales_order / sales_invoice entity fields.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hub.adapters.bigcommerce import HttpBigCommerceApi
from hub.adapters.carriers import shipment_request
from hub.config import parse_config
from hub.errors import StorefrontShipmentPendingError
from hub.events import HubEvent, OrderStatusChanged
from hub.intake.bigcommerce import BigCommerceSource
from hub.intake.magento import MagentoSource
from hub.intake.shopify import ShopifySource
from hub.intake.woocommerce import WooCommerceSource
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider
from hub.services.fulfilment import FulfilmentService
from hub.services.payments import PaymentService
from hub.services.stock import Applied, StockService

from commerce_hub.signing.bigcommerce import sign as sign_bigcommerce
from tests.bigcommerce_api import ACCESS_TOKEN, FakeBigCommerce
from tests.fakes import FakeLedger, FakePublisher
from tests.fulfilment_fakes import FakeCarrier, FakeShipmentStore, FakeStorefrontWriter

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BC_NOW = 1_795_685_415
CONFIG = """
locations: [{id: wh-east, country: US}]
carrier:
  provider: %s
  from_address: {street1: 9 Dock St, city: Newark, state: NJ, zip: "07102", country: US}
"""
SKUS = ("MUG-ENAMEL-WHT", "TEE-ORGANIC-L", "TOTE-WAX-OLV", "BEANIE-MER-CHR", "DRIP-CER-SLT", "FILTER-100",
        "LINEN-THROW-SAGE", "CANDLE-CEDAR-L")  # fmt: skip

SHOPIFY_ORDER = "shopify:820982911946154508"


def payload(name: str, **changes: Any) -> bytes:
    body = json.loads((PAYLOADS / f"{name}.json").read_text())
    target = body["data"]["value"] if name.startswith("magento") else body
    target.update(changes)
    return json.dumps(body).encode()


class Hub:
    """The three order consumers on one in-memory ledger, fed as their EventBridge rules feed them."""

    def __init__(self, carrier: str = "none") -> None:
        config = parse_config(CONFIG % carrier)
        self.ledger, self.bus = FakeLedger(), FakePublisher()
        self.stock = StockService(self.ledger, self.bus, lambda: config, clock=lambda: NOW)
        self.payments = PaymentService(self.ledger, self.bus, lambda: config, clock=lambda: NOW)
        self.carrier = FakeCarrier()
        self.routing = FulfilmentService(
            self.ledger,
            self.bus,
            lambda: config,
            FakeShipmentStore(),
            carrier=lambda _c: self.carrier,
            storefronts=lambda _c: FakeStorefrontWriter(),
            shipment_request=shipment_request,
            clock=lambda: NOW,
        )
        self.placements: list[Applied] = []
        for sku in SKUS:
            self.stock.set_level(sku, "wh-east", 20, "admin")
        self.bus.events.clear()

    def deliver(self, events: list[HubEvent]) -> None:
        queue = list(events)
        while queue:
            event = queue.pop(0)
            seen = len(self.bus.events)
            self._consume(event)
            queue.extend(self.bus.events[seen:])

    def _consume(self, event: HubEvent) -> None:
        if event.type == "OrderPlaced":
            self.placements.append(self.stock.place_order(event).outcome)
        recorded = isinstance(event, OrderStatusChanged) and event.data.previous is None
        if event.type in ("OrderPaid", "OrderUpdated", "OrderCancelled", "RefundIssued") or recorded:
            self.payments.handle(event)
        routed = isinstance(event, OrderStatusChanged) and event.data.status == "paid" and event.data.reserved
        if event.type in ("OrderFulfilled", "FulfilmentShipped") or recorded or routed:
            self.routing.handle(event)

    def order(self, order_id: str):  # type: ignore[no-untyped-def]
        order = self.ledger.get_order(order_id)
        assert order is not None, f"{order_id} was never recorded"
        return order

    def reserved(self, sku: str) -> int:
        return self.ledger.levels[(sku, "wh-east")].reserved

    def placed_entries(self, order_id: str) -> list[tuple[bool, str]]:
        return [(e.applied, e.summary) for e in self.order(order_id).timeline if e.type == "OrderPlaced"]

    def race(self, events: list[HubEvent]) -> tuple[list[HubEvent], list[HubEvent]]:
        """One delivery whose placement, and the order's recording, reach their consumers before the
        rest of it (its OrderFulfilled) reaches order_routing. Returns the events not delivered yet
        and the routing records that failed (SQS redelivers those after their visibility timeout)."""
        queue = [e for e in events if e.type == "OrderPlaced"]
        later = [e for e in events if e.type != "OrderPlaced"]
        failed: list[HubEvent] = []
        while queue:
            event = queue.pop(0)
            seen = len(self.bus.events)
            try:
                self._consume(event)
            except StorefrontShipmentPendingError:
                failed.append(event)
            queue.extend(self.bus.events[seen:])
        return later, failed

    def redeliver_to_routing(self, event: HubEvent) -> str:
        seen = len(self.bus.events)
        result = self.routing.handle(event)
        self.deliver(self.bus.events[seen:])
        return result


def shopify(topic: str, body: bytes | None = None, webhook_id: str | None = None) -> list[HubEvent]:
    headers = {
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": "ada-goods.myshopify.com",
        "x-shopify-webhook-id": webhook_id or f"wh-{topic}",
    }
    raw = body if body is not None else (PAYLOADS / f"shopify_{topic.replace('/', '_')}.json").read_bytes()
    return ShopifySource().parse(WebhookRequest(headers, raw), parse_config(CONFIG % "none")).events


def woocommerce(topic: str, body: bytes) -> list[HubEvent]:
    headers = {"x-wc-webhook-topic": topic, "x-wc-webhook-source": "https://shop.example.com/"}
    return WooCommerceSource().parse(WebhookRequest(headers, body), parse_config(CONFIG % "none")).events


def bigcommerce(fake: FakeBigCommerce, name: str) -> list[HubEvent]:
    body = (PAYLOADS / f"{name}.json").read_bytes()
    signed = sign_bigcommerce(
        body, topic=None, secrets={"BIGCOMMERCE_CLIENT_SECRET": "s"}, delivery_id=f"msg_{name}", timestamp=BC_NOW
    )
    api = HttpBigCommerceApi(
        SecretsProvider(values={"BIGCOMMERCE_ACCESS_TOKEN": ACCESS_TOKEN}), transport=fake.transport()
    )
    request = WebhookRequest({k.lower(): v for k, v in signed.headers.items()}, body)
    return BigCommerceSource(api, clock=lambda: BC_NOW).parse(request, parse_config(CONFIG % "none")).events


def magento(body: bytes) -> list[HubEvent]:
    return MagentoSource().parse(WebhookRequest({}, body), parse_config(CONFIG % "none")).events


# ------------------------------------------------------------------------------------ Shopify
def test_shopify_orders_paid_before_orders_create_records_the_order_paid_and_routes_it():
    hub = Hub()
    hub.deliver(shopify("orders/paid"))
    hub.deliver(shopify("orders/create"))
    order = hub.order(SHOPIFY_ORDER)
    assert order.status.value == "fulfilling"  # paid, reserved and routed: not pending_payment for ever
    assert (hub.reserved("MUG-ENAMEL-WHT"), hub.reserved("TEE-ORGANIC-L")) == (2, 1)  # reserved once
    late = hub.placed_entries(SHOPIFY_ORDER)
    assert late[0][0] is True and "orders/paid" in late[0][1]
    assert late[1][0] is False
    assert "not applied, the order was already recorded from orders/paid of 2026-11-20T09:13:02-05:00" in late[1][1]
    assert hub.placements == [Applied.APPLIED, Applied.NOT_APPLIED]


def test_the_late_create_is_on_the_timeline_once_however_often_it_is_delivered():
    hub = Hub()
    hub.deliver(shopify("orders/paid"))
    hub.deliver(shopify("orders/create"))
    before = hub.order(SHOPIFY_ORDER)
    hub.deliver(shopify("orders/create"))  # Shopify's retry of the same delivery
    assert hub.placements[-1] is Applied.DUPLICATE
    after = hub.order(SHOPIFY_ORDER)
    assert len(after.timeline) == len(before.timeline)
    assert after.status is before.status


def test_a_retried_orders_paid_maps_to_the_same_placement():
    first, second = shopify("orders/paid"), shopify("orders/paid", webhook_id="another-subscription")
    assert [e.event_id for e in first] == [e.event_id for e in second]
    placed = first[1]
    assert placed.type == "OrderPlaced"
    assert placed.event_id != shopify("orders/create")[0].event_id  # a placement of its own
    assert placed.occurred_at.isoformat() == "2026-11-20T09:12:44-05:00"  # counted on the day it was placed


def test_shopify_orders_cancelled_first_records_it_cancelled_holding_nothing():
    hub = Hub()
    hub.deliver(shopify("orders/cancelled"))
    hub.deliver(shopify("orders/create"))
    order = hub.order(SHOPIFY_ORDER)
    assert order.status.value == "cancelled"
    assert order.reservations == ()
    assert (hub.reserved("MUG-ENAMEL-WHT"), hub.reserved("TEE-ORGANIC-L")) == (0, 0)
    assert [applied for applied, _ in hub.placed_entries(SHOPIFY_ORDER)] == [True, False]


def test_shopify_orders_fulfilled_first_is_shipped_by_the_storefront_and_never_labelled_by_the_hub():
    hub = Hub(carrier="easypost")
    hub.deliver(shopify("orders/fulfilled"))
    hub.deliver(shopify("orders/create"))
    order = hub.order(SHOPIFY_ORDER)
    assert order.status.value == "shipped"
    assert (hub.carrier.created, hub.carrier.bought) == ([], [])  # no label bought for what already left
    assert [f.origin for f in order.fulfilments] == ["shopify"]
    assert (hub.reserved("MUG-ENAMEL-WHT"), hub.reserved("TEE-ORGANIC-L")) == (0, 0)  # consumed, not held


def test_an_update_older_than_the_state_the_order_holds_changes_nothing():
    hub = Hub()
    hub.deliver(shopify("orders/cancelled"))
    # An orders/updated of before the cancellation (still open, paid) arrives after it.
    older = payload("shopify_orders_updated", updated_at="2026-11-20T09:30:00-05:00", cancelled_at=None)
    hub.deliver(shopify("orders/updated", older))
    order = hub.order(SHOPIFY_ORDER)
    assert order.status.value == "cancelled"
    update = next(e for e in order.timeline if e.type == "OrderUpdated")
    assert update.applied is False
    assert "older than the state the order holds (from orders/cancelled" in update.summary


def test_a_paid_update_before_the_create_is_applied_when_the_order_is_recorded_from_the_create():
    # The placement an update carries and the update itself go to different consumers: here the
    # OrderUpdated reaches payment_confirmation while the order is not recorded, is kept, and applies
    # when the (unpaid) create records it.
    hub = Hub()
    update, _placed = shopify("orders/updated")
    hub.deliver([update])
    create = payload("shopify_orders_create", financial_status="pending")
    hub.deliver(shopify("orders/create", create))
    order = hub.order(SHOPIFY_ORDER)
    assert order.status.value == "fulfilling"
    assert next(e for e in order.timeline if e.type == "OrderUpdated").applied is True


# ------------------------------------------------------------------------------------ WooCommerce
def test_woocommerce_order_updated_before_order_created():
    hub = Hub()
    hub.deliver(woocommerce("order.updated", payload("woocommerce_order_updated", refunds=[])))
    hub.deliver(woocommerce("order.created", payload("woocommerce_order_created")))
    order = hub.order("woocommerce:1187")
    assert order.status.value == "fulfilling"
    assert (hub.reserved("TOTE-WAX-OLV"), hub.reserved("BEANIE-MER-CHR")) == (1, 2)
    entries = hub.placed_entries("woocommerce:1187")
    assert [applied for applied, _ in entries] == [True, False]
    assert "already recorded from order.updated of 2026-11-22T22:05:31+00:00" in entries[1][1]


def test_woocommerce_cancelled_update_first_records_it_cancelled():
    hub = Hub()
    hub.deliver(woocommerce("order.updated", payload("woocommerce_order_updated", status="cancelled", refunds=[])))
    hub.deliver(woocommerce("order.created", payload("woocommerce_order_created")))
    assert hub.order("woocommerce:1187").status.value == "cancelled"
    assert hub.reserved("BEANIE-MER-CHR") == 0


# ------------------------------------------------------------------------------------ BigCommerce
def test_bigcommerce_status_updated_before_created():
    hub, fake = Hub(), FakeBigCommerce()
    hub.deliver(bigcommerce(fake, "bigcommerce_store_order_statusUpdated"))
    hub.deliver(bigcommerce(fake, "bigcommerce_store_order_created"))
    order = hub.order("bigcommerce:3108")
    assert order.status.value == "fulfilling"  # status 11, Awaiting Fulfillment: paid
    assert hub.reserved("DRIP-CER-SLT") > 0
    entries = hub.placed_entries("bigcommerce:3108")
    assert [applied for applied, _ in entries] == [True, False]
    assert "store/order/statusUpdated" in entries[0][1]
    # The V2 order's date_created (RFC 2822) is when it was placed.
    assert order.placed_at == datetime(2026, 11, 20, 18, 10, 9, tzinfo=UTC)


# ------------------------------------------------------------------------------------ Adobe Commerce
def test_adobe_commerce_invoice_paid_before_the_order_is_placed():
    hub = Hub()
    hub.deliver(magento(payload("magento_sales_order_invoice_pay")))
    placed = payload("magento_sales_order_place_after", state="new", status="pending", total_paid=None)
    hub.deliver(magento(placed))
    order = hub.order("magento:318")
    assert order.status.value == "fulfilling"  # the kept invoice applied when the order was recorded
    paid = next(e for e in order.timeline if e.type == "OrderPaid")
    assert paid.applied is True and "paid in full" in paid.summary


def test_adobe_commerce_canceled_save_before_the_order_is_placed():
    hub = Hub()
    hub.deliver(magento(payload("magento_sales_order_save_commit_after")))
    hub.deliver(magento(payload("magento_sales_order_place_after")))
    order = hub.order("magento:318")
    assert order.status.value == "cancelled"
    assert hub.reserved("CANDLE-CEDAR-L") == 0
    assert [applied for applied, _ in hub.placed_entries("magento:318")] == [True, False]


@pytest.mark.parametrize("first", ["orders/paid", "orders/updated", "orders/fulfilled"])
def test_whichever_shopify_topic_comes_first_the_order_is_recorded_once(first):
    hub = Hub()
    hub.deliver(shopify(first))
    hub.deliver(shopify("orders/create"))
    hub.deliver(shopify("orders/paid"))
    assert hub.placements.count(Applied.APPLIED) == 1
    # Two mugs left the 20 available once, whether they are held for the order or already shipped.
    assert hub.ledger.levels[("MUG-ENAMEL-WHT", "wh-east")].available == 18


# ------------------------------------------------------------------------------------ fulfilled first
# An order first heard of as fulfilled by the storefront: its placement and its OrderFulfilled go
# out in one PutEvents, and nothing orders their arrival at stock_updates and order_routing.
def test_shopify_orders_fulfilled_routing_waits_for_the_storefront_s_fulfilment_and_buys_no_label():
    hub = Hub(carrier="easypost")
    later, failed = hub.race(shopify("orders/fulfilled"))
    assert [e.type for e in later] == ["OrderFulfilled"]
    assert [e.type for e in failed] == ["OrderStatusChanged"]  # routing refused, to be redelivered
    order = hub.order(SHOPIFY_ORDER)
    assert order.status.value == "paid" and order.fulfilments == []
    assert [f.fulfilment_id for f in order.storefront_fulfilments] == ["5290011223344"]
    assert (hub.carrier.created, hub.carrier.bought) == ([], [])

    hub.deliver(later)  # the storefront's fulfilment arrives
    shipped = hub.order(SHOPIFY_ORDER)
    assert shipped.status.value == "shipped"
    assert [(f.origin, f.external_id, f.tracking_number) for f in shipped.fulfilments] == [
        ("shopify", "5290011223344", "1Z999AA10123456784")
    ]
    hub.redeliver_to_routing(failed[0])
    routing = next(e for e in hub.order(SHOPIFY_ORDER).timeline if e.event_id == failed[0].event_id)
    assert (routing.applied, routing.summary) == (False, "not routed: the order is shipped")
    assert (hub.carrier.created, hub.carrier.bought) == ([], [])  # nothing labelled, ever
    assert (hub.reserved("MUG-ENAMEL-WHT"), hub.reserved("TEE-ORGANIC-L")) == (0, 0)
    assert hub.ledger.levels[("MUG-ENAMEL-WHT", "wh-east")].available == 18


def test_shopify_partial_fulfilment_first_routes_and_labels_only_the_rest():
    # Shopify's orders/fulfilled sample with its one fulfillment reduced to the two mugs, as
    # Shopify sends an order whose fulfillment_status is "partial".
    body = json.loads(payload("shopify_orders_fulfilled", fulfillment_status="partial"))
    body["fulfillments"][0]["line_items"] = [
        li for li in body["fulfillments"][0]["line_items"] if li["sku"] == "MUG-ENAMEL-WHT"
    ]
    hub = Hub(carrier="easypost")
    later, failed = hub.race(shopify("orders/fulfilled", json.dumps(body).encode()))
    assert failed and hub.carrier.bought == []
    hub.deliver(later)
    assert hub.order(SHOPIFY_ORDER).status.value == "paid"  # the tee has not left yet
    hub.redeliver_to_routing(failed[0])
    order = hub.order(SHOPIFY_ORDER)
    assert order.status.value == "shipped"
    by_origin = {f.origin: [(ln.sku, ln.quantity) for ln in f.lines] for f in order.fulfilments}
    assert by_origin == {"shopify": [("MUG-ENAMEL-WHT", 2)], "carrier": [("TEE-ORGANIC-L", 1)]}
    assert len(hub.carrier.bought) == 1  # one label, for the tee only


def test_shopify_orders_updated_showing_a_fulfilment_publishes_it_and_names_it_in_the_placement():
    # Shopify sends orders/updated after a fulfilment too, with the same fulfillments array.
    fulfilled = json.loads((PAYLOADS / "shopify_orders_fulfilled.json").read_text())
    events = shopify("orders/updated", json.dumps(fulfilled).encode())
    shipped = [e for e in events if e.type == "OrderFulfilled"]
    placed = next(e for e in events if e.type == "OrderPlaced")
    assert [e.data.fulfilment_id for e in shipped] == ["5290011223344"]
    assert [(r.fulfilment_id, r.event_id) for r in placed.data.storefront_fulfilments] == [
        ("5290011223344", shipped[0].event_id)
    ]
    hub = Hub(carrier="easypost")
    later, failed = hub.race(events)
    assert failed and hub.carrier.bought == []
    hub.deliver(later)
    hub.redeliver_to_routing(failed[0])
    hub.deliver(shopify("orders/fulfilled"))  # the same fulfilment, from its own topic
    order = hub.order(SHOPIFY_ORDER)
    assert order.status.value == "shipped" and len(order.fulfilments) == 1
    assert (hub.carrier.created, hub.carrier.bought) == ([], [])


def test_a_snapshot_naming_no_storefront_fulfilment_is_routed_at_once():
    hub = Hub(carrier="easypost")
    _later, failed = hub.race(shopify("orders/paid"))
    assert failed == [] and hub.order(SHOPIFY_ORDER).storefront_fulfilments == ()
    assert len(hub.carrier.bought) == 1


def test_woocommerce_completed_first_is_shipped_by_the_storefront_without_waiting():
    # The WooCommerce REST reference order, completed: core WooCommerce has no shipments, so the
    # snapshot itself says every unit left; routing records that before it would route.
    body = payload("woocommerce_order_updated", status="completed", refunds=[])
    hub = Hub(carrier="easypost")
    later, failed = hub.race(woocommerce("order.updated", body))
    assert failed == []
    order = hub.order("woocommerce:1187")
    assert order.status.value == "shipped"
    assert [(f.origin, f.written_back) for f in order.fulfilments] == [("woocommerce", True)]
    assert (hub.carrier.created, hub.carrier.bought) == ([], [])
    assert (hub.reserved("TOTE-WAX-OLV"), hub.reserved("BEANIE-MER-CHR")) == (0, 0)
    hub.deliver(later)  # the delivery's own OrderFulfilled, late: nothing left to ship
    hub.deliver(woocommerce("order.created", payload("woocommerce_order_created")))
    after = hub.order("woocommerce:1187")
    assert after.status.value == "shipped" and len(after.fulfilments) == 1
    late = next(e for e in after.timeline if e.event_id == later[-1].event_id)
    assert (late.type, late.applied) == ("OrderFulfilled", False)
    assert hub.carrier.bought == []


def test_woocommerce_completed_whose_fulfilment_arrives_first_is_shipped_once():
    body = payload("woocommerce_order_updated", status="completed", refunds=[])
    hub = Hub(carrier="easypost")
    hub.deliver(woocommerce("order.updated", body))  # OrderFulfilled kept, then the placement
    order = hub.order("woocommerce:1187")
    assert order.status.value == "shipped" and len(order.fulfilments) == 1
    assert hub.carrier.bought == []


def test_bigcommerce_partially_shipped_first_routes_only_what_the_store_has_not_shipped():
    # BigCommerce V2 order status 3 ("Partially Shipped"); the V2 order products' quantity_shipped
    # says one of the two drippers left from the BigCommerce admin.
    hub, fake = Hub(carrier="easypost"), FakeBigCommerce()
    fake.order().update({"status_id": 3, "status": "Partially Shipped"})
    products = fake.documents[next(k for k in fake.documents if k.endswith("/products"))]
    products[0]["quantity_shipped"] = 1
    hub.deliver(bigcommerce(fake, "bigcommerce_store_order_statusUpdated"))
    order = hub.order("bigcommerce:3108")
    assert order.status.value == "fulfilling"  # the rest is routed (it waits for a label: no address)
    by_status = {f.status: sorted((ln.sku, ln.quantity) for ln in f.lines) for f in order.fulfilments}
    assert by_status == {"shipped": [("DRIP-CER-SLT", 1)], "pending": [("DRIP-CER-SLT", 1), ("FILTER-100", 1)]}
    assert next(f.origin for f in order.fulfilments if f.status == "shipped") == "bigcommerce"
    assert (hub.reserved("DRIP-CER-SLT"), hub.reserved("FILTER-100")) == (1, 1)  # one dripper left with the store


def test_bigcommerce_shipped_first_is_never_labelled():
    hub, fake = Hub(carrier="easypost"), FakeBigCommerce()
    fake.order().update({"status_id": 2, "status": "Shipped"})
    hub.deliver(bigcommerce(fake, "bigcommerce_store_order_statusUpdated"))
    order = hub.order("bigcommerce:3108")
    assert order.status.value == "shipped"
    assert [f.origin for f in order.fulfilments] == ["bigcommerce"]
    assert hub.carrier.bought == []


def test_adobe_commerce_complete_order_saved_first_is_shipped_by_the_storefront():
    # The Adobe I/O sales_order_save_commit_after envelope, with the order invoiced and shipped in
    # the Adobe Commerce admin (state complete; the REST order items' qty_shipped).
    body = json.loads(payload("magento_sales_order_save_commit_after"))
    order_value = body["data"]["value"]
    order_value.update(state="complete", status="complete", total_paid=order_value["grand_total"])
    for item in order_value["items"]:
        item["qty_shipped"] = item["qty_ordered"]
    hub = Hub(carrier="easypost")
    hub.deliver(magento(json.dumps(body).encode()))
    order = hub.order("magento:318")
    assert order.status.value == "shipped"
    assert [f.origin for f in order.fulfilments] == ["magento"]
    assert sorted((ln.sku, ln.quantity) for ln in order.fulfilments[0].lines) == [
        ("CANDLE-CEDAR-L", 2),
        ("LINEN-THROW-SAGE", 1),
    ]
    assert hub.carrier.bought == []
