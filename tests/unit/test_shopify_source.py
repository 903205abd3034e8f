import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from hub.config import parse_config
from hub.intake import MalformedPayloadError, SignatureError, WebhookRequest
from hub.intake.shopify import ShopifySource
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
    secrets = SecretsProvider(values={"SHOPIFY_WEBHOOK_SECRET": f"old-secret, {SECRET}"})
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


def test_a_redelivery_maps_to_the_same_event_id():
    first = ShopifySource().parse(request(), CONFIG).events[0]
    again = ShopifySource().parse(request(), CONFIG).events[0]
    other = ShopifySource().parse(request(x_shopify_event_id="another"), CONFIG).events[0]
    assert first.event_id == again.event_id != other.event_id


def test_pending_financial_status_is_not_paid():
    body = json.loads(PAYLOAD)
    body["financial_status"] = "pending"
    raw = json.dumps(body).encode()
    assert ShopifySource().parse(request(raw), CONFIG).events[0].data.paid is False


def test_topics_the_hub_does_not_use_are_ignored():
    delivery = ShopifySource().parse(request(x_shopify_topic="products/update"), CONFIG)
    assert delivery.ignored_reason and "products/update" in delivery.ignored_reason
    assert delivery.events == []


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"{not json", {}, "not valid JSON"),
        (b"[1, 2]", {}, "must be a JSON object"),
        (b'{"id": 1}', {}, "not a Shopify order: 'currency'"),
        (json.dumps({**json.loads(PAYLOAD), "total_price": "85.921"}).encode(), {}, "more decimals"),
        (PAYLOAD, {"x_shopify_topic": None}, "missing X-Shopify-Topic"),
        (PAYLOAD, {"x_shopify_webhook_id": None}, "missing X-Shopify-Webhook-Id"),
    ],
)
def test_malformed_deliveries_say_what_is_wrong(body, headers, message):
    with pytest.raises(MalformedPayloadError, match=message):
        ShopifySource().parse(request(body, **headers), CONFIG)
