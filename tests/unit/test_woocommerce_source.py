"""WooCommerce: the signature as WooCommerce computes it, the ping, and facts read from the body."""

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hub.config import parse_config
from hub.errors import MalformedPayloadError, SignatureError
from hub.intake import IntakeService
from hub.intake.woocommerce import WooCommerceSource, woocommerce_secret_keys
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider

from commerce_hub.signing.woocommerce import sign as sign_delivery
from tests.unit.test_intake_service import FakeDeliveryLog

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
CREATED = (PAYLOADS / "woocommerce_order_created.json").read_bytes()
UPDATED = (PAYLOADS / "woocommerce_order_updated.json").read_bytes()
SITE = "https://larkspur-supply.example/"
SECRET = "wc-test-secret"
CONFIG = parse_config("locations: [{id: wh-east, country: US}]\n")


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def request(body: bytes = CREATED, topic: str = "order.created", **overrides: str | None) -> WebhookRequest:
    headers = {
        "content-type": "application/json",
        "x-wc-webhook-source": SITE,
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-resource": topic.split(".")[0],
        "x-wc-webhook-event": topic.split(".")[1],
        "x-wc-webhook-signature": sign(body),
        "x-wc-webhook-id": "14",
        "x-wc-webhook-delivery-id": "8b0d6f4e2a1c9e7b5d3f1a0c8e6b4d2f",
    }
    for name, value in overrides.items():
        key = name.replace("_", "-")
        if value is None:
            headers.pop(key, None)
        else:
            headers[key] = value
    return WebhookRequest(headers, body)


def secrets(value: str = SECRET) -> SecretsProvider:
    return SecretsProvider(values={"WOOCOMMERCE_WEBHOOK_SECRET": value})


def parse(body: bytes = CREATED, topic: str = "order.created", config=CONFIG):
    return WooCommerceSource().parse(request(body, topic), config)


def edited(body: bytes, **changes) -> bytes:
    return json.dumps({**json.loads(body), **changes}).encode()


# ------------------------------------------------------------------------------------ signature
@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_signature_matches_an_independent_hmac_by_openssl():
    # The reference's cross-check: OpenSSL's HMAC, base64, is what WooCommerce sends.
    openssl = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", SECRET, "-binary"], input=CREATED, capture_output=True, check=True
    ).stdout
    header = base64.b64encode(openssl).decode()
    WooCommerceSource().verify(request(x_wc_webhook_signature=header), secrets())


def test_the_signer_signs_as_woocommerce_does():
    delivery = sign_delivery(CREATED, topic="order.created", secrets={"WOOCOMMERCE_WEBHOOK_SECRET": SECRET},
                             delivery_id="d-1")  # fmt: skip
    assert delivery.headers["X-WC-Webhook-Signature"] == sign(CREATED)
    headers = {k.lower(): v for k, v in delivery.headers.items()}
    WooCommerceSource().verify(WebhookRequest(headers, CREATED), secrets())


def test_a_secret_stored_html_escaped_is_keyed_as_wordpress_decodes_it():
    # WordPress stores `p&ss"word` as `p&amp;ss&quot;word` and keys the HMAC with the decoded text.
    stored = "p&amp;ss&quot;word&#039;s"
    assert list(woocommerce_secret_keys([stored])) == [stored, "p&ss\"word's"]
    WooCommerceSource().verify(request(x_wc_webhook_signature=sign(CREATED, "p&ss\"word's")), secrets(stored))


def test_any_rotated_secret_verifies():
    WooCommerceSource().verify(request(), secrets(json.dumps(["old-secret", SECRET])))


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (request(x_wc_webhook_signature=None), "missing X-WC-Webhook-Signature"),
        (request(x_wc_webhook_signature=sign(CREATED, "wrong-secret")), "does not match"),
        (WebhookRequest(request().headers, CREATED.replace(b"107.39", b"1.39")), "does not match"),
        (request(b"webhook_id=3", x_wc_webhook_signature=sign(CREATED)), "does not match"),
    ],
    ids=["missing", "wrong-secret", "tampered-body", "ping-body-under-woocommerce-headers"],
)
def test_bad_signatures_are_refused(req, message):
    with pytest.raises(SignatureError, match=message):
        WooCommerceSource().verify(req, secrets())


def test_unsigned_json_is_refused_even_without_any_woocommerce_header():
    with pytest.raises(SignatureError, match="missing X-WC-Webhook-Signature"):
        WooCommerceSource().verify(WebhookRequest({}, b'{"id": 1}'), secrets())


def test_no_configured_secret_refuses():
    with pytest.raises(SignatureError, match="no WooCommerce webhook secret"):
        WooCommerceSource().verify(request(), SecretsProvider(values={}))


# ----------------------------------------------------------------------------------------- ping
def test_the_unsigned_ping_is_answered_and_ignored_publishing_nothing():
    log = FakeDeliveryLog()
    service = IntakeService({"woocommerce": WooCommerceSource()}, secrets(), lambda: CONFIG, log)
    ping = WebhookRequest({"content-type": "application/x-www-form-urlencoded"}, b"webhook_id=14")
    result = service.receive("woocommerce", ping)
    assert result.status == "ignored"
    assert result.body()["status"] == "ignored"
    assert "ping" in result.reason
    assert log.published == {}


@pytest.mark.parametrize("body", [b"webhook_id=14&x=1", b"webhook_id=", b"webhook_id=abc", b"id=14"])
def test_anything_else_unsigned_is_refused(body):
    req = WebhookRequest({"content-type": "application/x-www-form-urlencoded"}, body)
    with pytest.raises(SignatureError):
        WooCommerceSource().verify(req, secrets())


# ------------------------------------------------------------------------------------ normalise
def test_order_created_shows_a_paid_order_placed_with_exact_money():
    delivery = parse()
    assert (
        delivery.dedupe_key
        == "woocommerce:https://larkspur-supply.example:order.created:1187:2026-11-20T17:41:55+00:00"
    )
    placed, paid = delivery.events
    assert placed.type == "OrderPlaced" and paid.type == "OrderPaid"
    assert placed.channel == "woocommerce"
    assert placed.data.order_id == "woocommerce:1187"
    assert placed.data.total == 10739
    assert placed.data.paid is True
    assert placed.data.customer_email == "maren.okafor@example.net"
    assert placed.data.shipping_country == "US"
    assert [(ln.sku, ln.quantity, ln.unit_price) for ln in placed.data.lines] == [
        ("TOTE-WAX-OLV", 1, 4800),
        ("BEANIE-MER-CHR", 2, 2250),
    ]
    assert placed.occurred_at.isoformat() == "2026-11-20T17:41:52+00:00"
    assert placed.provider.account == SITE
    assert placed.provider.delivery_id == "8b0d6f4e2a1c9e7b5d3f1a0c8e6b4d2f"
    assert (paid.data.amount, paid.data.currency, paid.data.payment_reference) == (
        10739,
        "USD",
        "pi_3SfT8wHq2LmN0xYz1AbCdEfG",
    )


def test_a_pending_order_is_not_paid_and_publishes_no_payment():
    body = edited(CREATED, status="pending", date_paid=None, date_paid_gmt=None)
    (placed,) = parse(body).events
    assert placed.data.paid is False


def test_paid_is_read_from_date_paid_when_the_status_says_otherwise():
    # on-hold after a payment (a manual review), still paid
    placed, paid = parse(edited(CREATED, status="on-hold")).events
    assert placed.data.paid is True and paid.type == "OrderPaid"


def test_an_order_created_body_that_already_shows_a_cancellation_and_a_refund_says_so():
    body = edited(CREATED, status="cancelled", refunds=[{"id": 1190, "reason": "", "total": "-107.39"}])
    types = [e.type for e in parse(body).events]
    assert types == ["OrderPlaced", "OrderPaid", "OrderCancelled", "RefundIssued"]


def test_order_updated_derives_paid_and_refunds_from_the_body():
    events = parse(UPDATED, "order.updated").events
    # The update carries the whole order, so it is also a placement: the first to arrive records it.
    assert [e.type for e in events] == ["OrderUpdated", "OrderPlaced", "OrderPaid", "RefundIssued"]
    updated, placed, _paid, refund = events
    assert (placed.data.paid, placed.data.cancelled, placed.data.total) == (True, False, 10739)
    assert updated.data.platform_status == "processing"
    assert (updated.data.paid, updated.data.cancelled, updated.data.refunded_total) == (True, False, 2430)
    assert updated.data.total == 10739
    assert updated.occurred_at.isoformat() == "2026-11-22T22:05:31+00:00"
    assert (refund.data.refund_id, refund.data.amount, refund.data.currency) == ("1203", 2430, "USD")
    assert refund.data.reason == "Beanie arrived with a pulled thread"


def test_the_same_fact_in_two_deliveries_has_the_same_event_id():
    created = {e.type: e.event_id for e in parse().events}
    updated = {e.type: e.event_id for e in parse(UPDATED, "order.updated").events}
    later = edited(UPDATED, date_modified_gmt="2026-11-23T08:00:00")
    again = {e.type: e.event_id for e in parse(later, "order.updated").events}
    assert created["OrderPaid"] == updated["OrderPaid"] == again["OrderPaid"]
    assert updated["RefundIssued"] == again["RefundIssued"]
    assert updated["OrderUpdated"] != again["OrderUpdated"]  # a new modification is a new update


def test_a_redelivery_has_the_same_dedupe_key_and_ids():
    first, second = parse(UPDATED, "order.updated"), parse(UPDATED, "order.updated")
    assert first.dedupe_key == second.dedupe_key
    assert [e.event_id for e in first.events] == [e.event_id for e in second.events]


def test_a_cancelled_order_update_publishes_the_cancellation():
    events = parse(edited(UPDATED, status="cancelled", refunds=[]), "order.updated").events
    assert [e.type for e in events] == ["OrderUpdated", "OrderPlaced", "OrderPaid", "OrderCancelled"]
    assert events[0].data.cancelled is True
    assert events[1].data.cancelled is True  # recorded cancelled if it is the first the hub hears of it
    assert events[3].data.order_id == "woocommerce:1187"


def test_order_deleted_cancels_the_order():
    body = (PAYLOADS / "woocommerce_order_deleted.json").read_bytes()
    delivery = parse(body, "order.deleted")
    (cancelled,) = delivery.events
    assert cancelled.type == "OrderCancelled"
    assert cancelled.data.order_id == "woocommerce:1190"
    assert cancelled.data.reason == "deleted"


def test_order_restored_is_an_update_and_a_placement():
    restored, placed = parse(edited(CREATED, status="on-hold"), "order.restored").events
    assert (restored.type, placed.type) == ("OrderUpdated", "OrderPlaced")
    assert restored.data.platform_status == "on-hold"


def test_customer_updated_upserts_the_customer():
    body = (PAYLOADS / "woocommerce_customer_updated.json").read_bytes()
    (event,) = parse(body, "customer.updated").events
    assert event.type == "CustomerUpserted"
    assert (event.data.email, event.data.platform_customer_id) == ("maren.okafor@example.net", "58")
    assert (event.data.first_name, event.data.last_name, event.data.phone) == ("Maren", "Okafor", "+1 503 555 0147")


def test_product_updated_reports_the_managed_stock_of_a_variation():
    body = (PAYLOADS / "woocommerce_product_updated.json").read_bytes()
    (event,) = parse(body, "product.updated").events
    assert event.type == "StockLevelReported"
    data = event.data
    assert (data.sku, data.available, data.platform_product_id, data.platform_variation_id) == (
        "BEANIE-MER-CHR",
        17,
        "327",
        "329",
    )


def test_a_product_without_managed_stock_is_ignored():
    body = edited((PAYLOADS / "woocommerce_product_updated.json").read_bytes(), manage_stock=False)
    delivery = parse(body, "product.updated")
    assert delivery.events == [] and "does not manage stock" in delivery.ignored_reason


def test_the_configured_site_picks_the_channel_with_or_without_its_trailing_slash():
    config = parse_config(
        "channels:\n"
        "  wc-us: {platform: woocommerce, site_url: 'https://other.example'}\n"
        "  wc-eu: {platform: woocommerce, site_url: 'https://larkspur-supply.example'}\n"
        "locations: [{id: wh-east, country: US}]\n"
    )
    placed = parse(config=config).events[0]
    assert placed.channel == "wc-eu" and placed.data.order_id == "wc-eu:1187"


def test_a_price_with_many_decimals_falls_back_to_the_exact_line_total():
    body = json.loads(CREATED)
    body["line_items"][1].update(quantity=3, total="50.00", price=16.666666666666668)
    placed = parse(json.dumps(body).encode()).events[0]
    assert placed.data.lines[1].unit_price == 1667


def test_topics_the_hub_does_not_use_are_ignored():
    delivery = parse(b'{"id": 5}', "coupon.created")
    assert delivery.events == [] and "coupon.created" in delivery.ignored_reason


@pytest.mark.parametrize(
    ("body", "topic", "headers", "message"),
    [
        (b"{nope", "order.created", {}, "not valid JSON"),
        (b"[1]", "order.created", {}, "must be a JSON object"),
        (b'{"id": 1}', "order.created", {}, "not a WooCommerce order: 'status'"),
        (edited(CREATED, total="10.001"), "order.created", {}, "more decimals"),
        (edited(CREATED, currency="DOLLARS"), "order.created", {}, "not a WooCommerce order"),
        (CREATED, "order.created", {"x_wc_webhook_topic": None}, "missing X-WC-Webhook-Topic"),
        (CREATED, "order.created", {"x_wc_webhook_source": None}, "missing X-WC-Webhook-Source"),
        (b'{"id": "x"}', "product.updated", {}, "not a WooCommerce product: 'id'"),
    ],
)
def test_malformed_deliveries_say_what_is_wrong(body, topic, headers, message):
    with pytest.raises(MalformedPayloadError, match=message):
        WooCommerceSource().parse(request(body, topic, **headers), CONFIG)


# ------------------------------------------------------------------ vendor shapes (issue: real traffic)
VENDOR = Path(__file__).resolve().parents[1] / "vendor_samples"
REST_ORDER = (VENDOR / "woocommerce_rest_order_727.json").read_bytes()


def rest_order(**changes) -> dict:
    """WooCommerce's own "Retrieve an order" example (REST API docs; tests/vendor_samples/README.md)."""
    return {**json.loads(REST_ORDER), **changes}


def test_the_rest_reference_order_keeps_its_line_without_a_sku():
    """The docs' order 727: "Woo Single #1" has "sku": "" and 2 units; "Ship Your Idea" is Bar3."""
    placed, paid = parse(REST_ORDER).events
    assert [(ln.sku, ln.quantity, ln.unit_price, ln.platform_line_id) for ln in placed.data.lines] == [
        ("woocommerce:product:93:variation:0", 2, 300, "315"),
        ("Bar3", 1, 1200, "316"),
    ]
    assert sum(ln.quantity for ln in placed.data.lines) == 3
    assert all(ln.stocked for ln in placed.data.lines)
    assert (placed.data.total, placed.data.currency, placed.data.paid) == (2935, "USD", True)
    # date_created is the store's local time (16:28); the _gmt field is the one read.
    assert placed.occurred_at.isoformat() == "2017-03-22T19:28:02+00:00"
    assert paid.occurred_at.isoformat() == "2017-03-22T19:28:08+00:00"
    assert paid.data.payment_reference is None  # "transaction_id": "" is no reference


def test_a_line_without_a_sku_is_named_through_the_configured_sku_map_first():
    config = parse_config(
        "channels:\n"
        "  woocommerce:\n"
        "    platform: woocommerce\n"
        "    sku_map: {WOO-SINGLE-1: {product_id: 93}, SHIP-IDEA-BLACK-M: {product_id: 22, variation_id: 23}}\n"
        "locations: [{id: wh-east, country: US}]\n"
    )
    document = rest_order()
    document["line_items"][1]["sku"] = ""
    placed = parse(json.dumps(document).encode(), config=config).events[0]
    assert [ln.sku for ln in placed.data.lines] == ["WOO-SINGLE-1", "SHIP-IDEA-BLACK-M"]


@pytest.mark.parametrize(
    ("line", "sku"),
    [
        ({"sku": "", "product_id": 22, "variation_id": 23}, "woocommerce:product:22:variation:23"),
        ({"sku": None, "product_id": 93, "variation_id": None}, "woocommerce:product:93:variation:0"),
        ({"sku": "", "product_id": 0, "variation_id": 0}, "woocommerce:item:315"),  # the product was deleted
        ({"sku": "  "}, "woocommerce:product:93:variation:0"),
    ],
)
def test_a_line_without_a_sku_is_named_by_its_ids(line, sku):
    document = rest_order()
    document["line_items"][0].update(line)
    placed = parse(json.dumps(document).encode()).events[0]
    assert placed.data.lines[0].sku == sku


@pytest.mark.parametrize(
    ("line", "unit_price"),
    [
        ({"price": 3}, 300),  # the docs' JSON number
        ({"price": 3.0}, 300),
        ({"price": "3.00"}, 300),
        ({"price": None, "total": "6.0"}, 300),  # one decimal
        ({"price": None, "total": "6.0000"}, 300),
        ({"price": 0.1, "quantity": 2, "total": "0.20"}, 10),  # read as the decimal written, not 0.1000000000000000055
    ],
)
def test_vendor_money_shapes_are_read_exactly(line, unit_price):
    document = rest_order()
    document["line_items"][0].update(line)
    placed = parse(json.dumps(document).encode()).events[0]
    assert placed.data.lines[0].unit_price == unit_price


def test_empty_strings_where_null_is_meant_are_no_value():
    body = json.dumps(rest_order(status="pending", date_paid="", date_paid_gmt="", date_completed_gmt="")).encode()
    (placed,) = parse(body).events
    assert placed.data.paid is False


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ({"total": "NaN"}, "line_items.0.total", "not a finite amount"),
        ({"total": "1e999"}, "line_items.0.total", "not a decimal amount"),
        ({"total": ""}, "line_items.0.total", "not a decimal amount"),
        ({"total": True}, "line_items.0.total", "not a decimal amount"),
        ({"price": None, "total": "6.001"}, "line_items.0.total", "more decimals than USD"),
        ({"price": False}, "line_items.0.price", "not a decimal amount"),
        ({"quantity": 3.5}, "line_items.0.quantity", "not a whole number"),
        ({"quantity": 10**12}, "line_items.0.quantity", "between 0 and"),
        ({"quantity": "two"}, "line_items.0.quantity", "not a quantity"),
    ],
)
def test_amounts_and_quantities_the_hub_cannot_read_exactly_name_the_field(line, field, message):
    document = rest_order()
    document["line_items"][0].update(line)
    with pytest.raises(MalformedPayloadError, match=rf"'{field}'.*{message}"):
        parse(json.dumps(document).encode())


@pytest.mark.parametrize("total", ["29.355", "1e999", "", None, True])
def test_an_order_total_the_hub_cannot_read_names_the_field(total):
    with pytest.raises(MalformedPayloadError, match="'total'"):
        parse(json.dumps(rest_order(total=total)).encode())
