import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from hub.config import parse_config
from hub.errors import MalformedPayloadError, SignatureError
from hub.intake.shopify import ShopifySource
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider

PAYLOAD = (Path(__file__).resolve().parents[2] / "events" / "payloads" / "shopify_orders_create.json").read_bytes()
CONFIG = parse_config("locations: [{id: wh-east, country: US}]\n")
SECRET = "shpss_test"


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def request(body: bytes = PAYLOAD, **overrides: str | None) -> WebhookRequest:
    headers = {
        "x-shopify-hmac-sha256": sign(body),
        "x-shopify-topic": "orders/create",
        "x-shopify-shop-domain": "ada-goods.myshopify.com",
        "x-shopify-webhook-id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "x-shopify-event-id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "x-shopify-triggered-at": "2026-11-20T14:12:46.000Z",
    }
    for name, value in overrides.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return WebhookRequest(headers, body)


def test_shopify_published_vector_verifies():
    # Shopify's own library test: secret test_secret_key, body {"foo": "bar"}.
    req = WebhookRequest({"x-shopify-hmac-sha256": "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="}, b'{"foo": "bar"}')
    ShopifySource().verify(req, SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": "test_secret_key"}))


def test_any_rotated_secret_verifies():
    secrets = SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": json.dumps(["old-secret", SECRET])})
    ShopifySource().verify(request(), secrets)


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (request(x_shopify_hmac_sha256=None), "missing X-Shopify-Hmac-Sha256"),
        (request(x_shopify_hmac_sha256=sign(PAYLOAD, "wrong")), "does not match"),
        (WebhookRequest(request().headers, PAYLOAD + b" "), "does not match"),
    ],
)
def test_bad_signatures_are_refused(req, message):
    with pytest.raises(SignatureError, match=message):
        ShopifySource().verify(req, SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": SECRET}))


def test_no_configured_secret_refuses_rather_than_accepts():
    with pytest.raises(SignatureError, match="no Shopify webhook secret"):
        ShopifySource().verify(request(), SecretsProvider(values={}))


def test_orders_create_becomes_order_placed_with_minor_units():
    delivery = ShopifySource().parse(request(), CONFIG)
    assert delivery.dedupe_key == "shopify:ada-goods.myshopify.com:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    (event,) = delivery.events
    assert event.type == "OrderPlaced"
    assert event.channel == "shopify"
    assert event.data.order_id == "shopify:820982911946154508"
    assert event.data.total == 8592
    assert event.data.paid is True
    assert event.data.shipping_country == "US"
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in event.data.lines] == [
        ("MUG-ENAMEL-WHT", 2, 1800),
        ("TEE-ORGANIC-L", 1, 3800),
    ]
    assert event.provider.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert event.occurred_at.isoformat() == "2026-11-20T09:12:44-05:00"


def test_every_delivery_of_one_order_placement_maps_to_the_same_event_id():
    first = ShopifySource().parse(request(), CONFIG).events[0]
    again = ShopifySource().parse(request(), CONFIG).events[0]
    other_subscription = ShopifySource().parse(request(x_shopify_webhook_id="w2", x_shopify_event_id="e2"), CONFIG)
    other_shop = ShopifySource().parse(request(x_shopify_shop_domain="other.myshopify.com"), CONFIG).events[0]
    assert first.event_id == again.event_id == other_subscription.events[0].event_id != other_shop.event_id
    assert other_subscription.dedupe_key != ShopifySource().parse(request(), CONFIG).dedupe_key


def test_pending_financial_status_is_not_paid():
    body = json.loads(PAYLOAD)
    body["financial_status"] = "pending"
    raw = json.dumps(body).encode()
    assert ShopifySource().parse(request(raw), CONFIG).events[0].data.paid is False


def test_topics_the_hub_does_not_use_are_ignored():
    delivery = ShopifySource().parse(request(x_shopify_topic="collections/update"), CONFIG)
    assert delivery.ignored_reason and "collections/update" in delivery.ignored_reason
    assert delivery.events == []


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"{not json", {}, "not valid JSON"),
        (b"[1, 2]", {}, "must be a JSON object"),
        (b'{"id": 1}', {}, "not a Shopify 'orders/create' body: it lacks 'financial_status'"),
        (b'{"id": 1, "financial_status": "paid", "line_items": []}', {}, "not a Shopify order: 'currency'"),
        (json.dumps({**json.loads(PAYLOAD), "total_price": "85.921"}).encode(), {}, "more decimals"),
        (PAYLOAD, {"x_shopify_topic": None}, "missing X-Shopify-Topic"),
        (PAYLOAD, {"x_shopify_webhook_id": None}, "missing X-Shopify-Webhook-Id"),
    ],
)
def test_malformed_deliveries_say_what_is_wrong(body, headers, message):
    with pytest.raises(MalformedPayloadError, match=message):
        ShopifySource().parse(request(body, **headers), CONFIG)


PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"


def topic_delivery(topic: str, file: str | None = None):
    body = (PAYLOADS / f"shopify_{(file or topic).replace('/', '_')}.json").read_bytes()
    return ShopifySource().parse(request(body, x_shopify_topic=topic), CONFIG)


ORDER_SNAPSHOT_TOPICS = ("orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled")


@pytest.mark.parametrize(
    ("topic", "event_type"),
    [
        ("orders/create", "OrderPlaced"),
        ("orders/updated", "OrderUpdated"),
        ("orders/paid", "OrderPaid"),
        ("orders/cancelled", "OrderCancelled"),
        ("orders/fulfilled", "OrderFulfilled"),
        ("refunds/create", "RefundIssued"),
        ("checkouts/create", "CheckoutStarted"),
        ("customers/create", "CustomerUpserted"),
        ("inventory_levels/update", "StockLevelReported"),
        ("app/uninstalled", "AppUninstalled"),
        ("customers/data_request", "CustomerDataRequested"),
        ("customers/redact", "CustomerRedactionRequested"),
        ("shop/redact", "ShopRedactionRequested"),
    ],
)
def test_every_topic_maps_to_its_canonical_event(topic, event_type):
    event, *rest = topic_delivery(topic).events
    assert event.type == event_type
    # Every later order topic carries the whole order, so it is also a placement (see below).
    assert [e.type for e in rest] == (["OrderPlaced"] if topic in ORDER_SNAPSHOT_TOPICS else [])
    assert event.source == "shopify" and event.channel == "shopify"
    assert event.provider.topic == topic


def test_an_update_reports_status_and_refunds_in_minor_units():
    event, _placed = topic_delivery("orders/updated").events
    assert (event.data.platform_status, event.data.paid, event.data.cancelled) == ("partially_refunded", True, False)
    assert event.data.refunded_total == 1800
    assert event.data.total == 8592


def test_each_update_is_its_own_fact_but_a_redelivery_is_not():
    body = json.loads((PAYLOADS / "shopify_orders_updated.json").read_text())
    first = ShopifySource().parse(request(json.dumps(body).encode(), x_shopify_topic="orders/updated"), CONFIG)
    body["updated_at"] = "2026-11-21T09:00:00-05:00"
    later = ShopifySource().parse(request(json.dumps(body).encode(), x_shopify_topic="orders/updated"), CONFIG)
    assert first.events[0].event_id != later.events[0].event_id
    assert first.events[0].event_id == topic_delivery("orders/updated").events[0].event_id


def test_paid_cancelled_and_fulfilled_carry_what_the_order_says():
    paid, _placed = topic_delivery("orders/paid").events
    assert (paid.data.order_id, paid.data.amount, paid.data.currency) == ("shopify:820982911946154508", 8592, "USD")
    cancelled, _placed = topic_delivery("orders/cancelled").events
    assert cancelled.data.reason == "customer"
    shipped, _placed = topic_delivery("orders/fulfilled").events
    assert (shipped.data.carrier, shipped.data.tracking_number) == ("UPS", "1Z999AA10123456784")
    assert [(ln.sku, ln.quantity) for ln in shipped.data.lines] == [("MUG-ENAMEL-WHT", 2), ("TEE-ORGANIC-L", 1)]


def test_a_refund_sums_its_successful_transactions_and_says_what_goes_back_to_stock():
    (refund,) = topic_delivery("refunds/create").events
    assert (refund.data.amount, refund.data.currency, refund.data.refund_id) == (1800, "USD", "918273645501")
    assert [(ln.sku, ln.quantity, ln.restock) for ln in refund.data.lines] == [("MUG-ENAMEL-WHT", 1, True)]


def test_a_restock_only_refund_moves_no_money():
    body = json.loads((PAYLOADS / "shopify_refunds_create.json").read_text())
    body["transactions"] = []
    (refund,) = (
        ShopifySource().parse(request(json.dumps(body).encode(), x_shopify_topic="refunds/create"), CONFIG).events
    )
    assert (refund.data.amount, refund.data.currency) == (0, None)


def test_checkout_and_customer_keep_consent_and_recovery():
    (checkout,) = topic_delivery("checkouts/create").events
    assert checkout.data.checkout_id == "shopify:b7f3c2e1d0a94b8c9e1f2a3b4c5d6e7f"
    assert (checkout.data.total, checkout.data.completed) == (3800, False)
    assert checkout.data.recovery_url.startswith("https://")
    (checkout_update,) = topic_delivery("checkouts/update", "checkouts/create").events
    assert checkout_update.type == "CheckoutStarted"
    (customer,) = topic_delivery("customers/create").events
    assert (customer.data.consent.email_marketing, customer.data.consent.sms_marketing) == (True, False)
    assert customer.data.platform_customer_id == "shopify:6940095564049"


def test_inventory_levels_carry_shopify_ids_and_untracked_items_are_ignored():
    (level,) = topic_delivery("inventory_levels/update").events
    assert (level.data.available, level.data.platform_item_id, level.data.platform_location_id) == (
        42,
        "44981234567001",
        "71234567890",
    )
    body = json.loads((PAYLOADS / "shopify_inventory_levels_update.json").read_text())
    body["available"] = None
    delivery = ShopifySource().parse(
        request(json.dumps(body).encode(), x_shopify_topic="inventory_levels/update"), CONFIG
    )
    assert delivery.ignored_reason and not delivery.events


def test_privacy_requests_name_the_customer_and_orders():
    (redact,) = topic_delivery("customers/redact").events
    assert redact.data.scope == "customer"
    assert redact.data.order_ids == ["shopify:820982911946154508"]
    assert redact.data.platform_customer_id == "shopify:6940095564049"
    (shop,) = topic_delivery("shop/redact").events
    assert (shop.data.scope, shop.data.shop) == ("shop", "ada-goods.myshopify.com")
    (data_request,) = topic_delivery("customers/data_request").events
    assert data_request.data.request_id == "9999"


def test_a_refund_in_two_currencies_is_refused():
    body = json.loads((PAYLOADS / "shopify_refunds_create.json").read_text())
    body["transactions"].append({"amount": "1.00", "currency": "EUR", "kind": "refund", "status": "success"})
    with pytest.raises(MalformedPayloadError, match="several currencies"):
        ShopifySource().parse(request(json.dumps(body).encode(), x_shopify_topic="refunds/create"), CONFIG)


# ------------------------------------------------------------------ every line kept; vendor shapes
VENDOR = Path(__file__).resolve().parents[1] / "vendor_samples"


def sdk_order() -> dict:
    """Shopify's own order fixture (Shopify/shopify_python_api test/fixtures/order.json): three
    iPod Nano variants with SKUs; the tests below change lines into the shapes real shops send."""
    return json.loads((VENDOR / "shopify_sdk_order.json").read_text())["order"]


def deliver(document: dict, topic: str = "orders/create", config=CONFIG):
    body = json.dumps(document).encode()
    return ShopifySource().parse(request(body, x_shopify_topic=topic), config).events


def test_the_sdk_order_keeps_its_lines_and_names_the_ones_without_a_sku():
    order = sdk_order()
    order["line_items"][1]["sku"] = ""  # a variant without a SKU
    order["line_items"].append(  # a custom item: no product, no variant, no SKU
        {"id": 1071823175, "title": "Engraving", "quantity": 1, "price": "5.0", "sku": None,
         "product_id": None, "variant_id": None, "requires_shipping": True, "gift_card": False}
    )  # fmt: skip
    order["line_items"].append(  # a gift card: recorded, never reserved
        {"id": 1071823176, "title": "Gift card", "quantity": 1, "price": "25.00", "sku": "",
         "product_id": 921728736, "variant_id": 1070325047, "requires_shipping": False, "gift_card": True}
    )  # fmt: skip
    (placed,) = deliver(order)
    lines = [(ln.sku, ln.quantity, ln.unit_price, ln.stocked) for ln in placed.data.lines]
    assert lines == [
        ("IPOD2008GREEN", 1, 19900, True),
        ("shopify:product:632910392:variation:49148385", 1, 19900, True),
        ("IPOD2008BLACK", 1, 19900, True),
        ("shopify:item:1071823175", 1, 500, True),
        ("shopify:product:921728736:variation:1070325047", 1, 2500, False),
    ]
    assert (placed.data.total, placed.data.paid) == (40994, False)  # "authorized" is not paid


def test_a_line_that_needs_no_shipping_holds_no_stock():
    order = sdk_order()
    order["line_items"][0]["requires_shipping"] = False  # a digital download with a SKU
    (placed,) = deliver(order)
    assert [ln.stocked for ln in placed.data.lines] == [False, True, True]


def test_a_variant_without_a_sku_is_named_through_the_sku_map_first():
    config = parse_config(
        "channels:\n  shopify:\n    platform: shopify\n"
        "    sku_map: {IPOD-RED: {item_id: '808950810', variation_id: '49148385'}}\n"
        "locations: [{id: wh-east, country: US}]\n"
    )
    order = sdk_order()
    order["line_items"][1]["sku"] = None
    (placed,) = deliver(order, config=config)
    assert placed.data.lines[1].sku == "IPOD-RED"


def test_fulfilled_and_refunded_lines_without_a_sku_carry_the_same_name():
    order = sdk_order()
    order["fulfillments"][0]["status"] = "success"
    order["fulfillments"][0]["line_items"][0]["sku"] = ""
    # orders/fulfilled is also a placement of the order (it may arrive first): its shipment comes first.
    fulfilled, _placed = deliver(order, "orders/fulfilled")
    assert [ln.sku for ln in fulfilled.data.lines] == ["shopify:product:632910392:variation:39072856"]
    refund = json.loads((VENDOR / "shopify_sdk_refund.json").read_text())["refund"]
    refund["refund_line_items"][0]["line_item"]["sku"] = None
    (issued,) = deliver(refund, "refunds/create")
    assert [ln.sku for ln in issued.data.lines] == ["shopify:product:632910392:variation:457924702", "IPOD2008GREEN"]


def test_the_sdk_refund_with_numbers_where_strings_are_usual_is_read_exactly():
    """Shopify's refund fixture (test/fixtures/refund.json), with refund lines' subtotal and
    total_tax as JSON numbers, as the refunds/create webhook sends them."""
    refund = json.loads((VENDOR / "shopify_sdk_refund.json").read_text())["refund"]
    for rli in refund["refund_line_items"]:
        rli.update(subtotal=199.0, total_tax=3.98)
    refund["transactions"][0]["amount"] = "209.0"
    (issued,) = deliver(refund, "refunds/create")
    assert (issued.data.amount, issued.data.currency) == (20900, "USD")
    assert [(ln.sku, ln.quantity, ln.restock) for ln in issued.data.lines] == [
        ("IPOD2008BLACK", 1, False),
        ("IPOD2008GREEN", 1, False),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda o: o["line_items"][0].update(price="199.001"), r"'line_items\.0\.price'.*more decimals"),
        (lambda o: o["line_items"][0].update(price="NaN"), r"'line_items\.0\.price'.*not a finite amount"),
        (lambda o: o["line_items"][0].update(price=True), r"'line_items\.0\.price'.*not a decimal amount"),
        (lambda o: o["line_items"][0].update(price=""), r"'line_items\.0\.price'.*not a decimal amount"),
        (lambda o: o["line_items"][0].update(quantity=1.5), r"'line_items\.0\.quantity'.*not a whole number"),
        (lambda o: o["line_items"][0].update(quantity=10**12), r"'line_items\.0\.quantity'.*between 0 and"),
        (lambda o: o.update(total_price="1e999"), r"'total_price'.*not a decimal amount"),
    ],
)
def test_amounts_and_quantities_the_hub_cannot_read_exactly_name_the_field(change, message):
    order = sdk_order()
    change(order)
    with pytest.raises(MalformedPayloadError, match=message):
        deliver(order)


def test_a_one_decimal_price_a_string_quantity_and_a_number_total_are_read_exactly():
    order = sdk_order()
    order["line_items"][0].update(price="348.0", quantity="3")
    order["cancelled_at"] = ""  # "" where null is meant
    body = json.dumps(order).replace('"total_price": "409.94"', '"total_price": 409.94').encode()
    assert b'"total_price": 409.94' in body
    (placed,) = ShopifySource().parse(request(body), CONFIG).events
    assert (placed.data.lines[0].unit_price, placed.data.lines[0].quantity) == (34800, 3)
    assert placed.data.total == 40994  # the JSON number read as the decimal written, never a float
