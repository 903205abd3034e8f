"""webhook_intake with moto for WooCommerce, BigCommerce and Adobe Commerce: each
events/webhook_intake_{woocommerce,bigcommerce,magento}_*.json through lambda_handler, its canonical
events observed on the bus, duplicates published once, the ping, the challenge, refusals as JSON errors.

Two sources' sample events are signed again at test time, as the vendor would sign a fresh delivery:
BigCommerce's signed timestamp goes stale after five minutes, and the Adobe signature is made with the
key pair each checkout generates for itself (commerce_hub.local.keys). WooCommerce's verify as committed.
BigCommerce's API is the fake in tests/bigcommerce_api.py, behind httpx.MockTransport.
"""

from __future__ import annotations

import base64
import copy
import json
import time

import pytest
from hub.adapters.bigcommerce import HttpBigCommerceApi
from hub.bootstrap import Sandbox
from hub.secrets import SecretsProvider
from hub.shredding import open_sealed

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets
from commerce_hub.signing import bigcommerce as bigcommerce_signer
from commerce_hub.signing import sign_delivery
from tests.bigcommerce_api import ACCESS_TOKEN, FakeBigCommerce
from tests.functional.conftest import EVENTS, ROOT, event

SECRETS = local_secrets({}, local_signing_keys(ROOT))
SECRET_VALUES = [SECRETS["WOOCOMMERCE_WEBHOOK_SECRET"], SECRETS["BIGCOMMERCE_CLIENT_SECRET"], ACCESS_TOKEN]

# event file -> the detail-types it publishes, in order, and fields of the first one's data. Every
# delivery carrying the whole order is also an OrderPlaced: the first of them to arrive records it.
EXPECTED: dict[str, tuple[list[str], dict]] = {
    "woocommerce_order_created": (["OrderPlaced", "OrderPaid"], {"order_id": "woocommerce:1187", "total": 10739}),
    "woocommerce_order_updated": (
        ["OrderUpdated", "OrderPlaced", "OrderPaid", "RefundIssued"],
        {"refunded_total": 2430, "paid": True, "cancelled": False},
    ),
    "woocommerce_order_deleted": (["OrderCancelled"], {"order_id": "woocommerce:1190"}),
    "woocommerce_customer_updated": (["CustomerUpserted"], {"platform_customer_id": "58"}),
    "woocommerce_product_updated": (["StockLevelReported"], {"sku": "BEANIE-MER-CHR", "available": 17}),
    "bigcommerce_store_order_created": (["OrderPlaced"], {"order_id": "bigcommerce:3108", "total": 10160}),
    "bigcommerce_store_order_statusUpdated": (
        ["OrderUpdated", "OrderPlaced"],
        {"platform_status": "Awaiting Fulfillment"},
    ),
    "bigcommerce_store_customer_updated": (["CustomerUpserted"], {"email": "theo.lindqvist@example.com"}),
    "bigcommerce_store_sku_inventory_updated": (["StockLevelReported"], {"sku": "DRIP-CER-SLT", "available": 31}),
    "magento_sales_order_place_after": (["OrderPlaced"], {"order_id": "magento:318", "total": 13983}),
    "magento_sales_order_save_commit_after": (
        ["OrderUpdated", "OrderPlaced", "OrderCancelled"],
        {"cancelled": True},
    ),
    "magento_sales_order_invoice_pay": (["OrderPaid"], {"amount": 13983, "currency": "EUR"}),
    "magento_sales_order_creditmemo_save_after": (["RefundIssued"], {"amount": 2856}),
    "magento_customer_save_after": (["CustomerUpserted"], {"platform_customer_id": "93"}),
    "magento_cataloginventory_stock_item_save_after": (["StockLevelReported"], {"available": 34}),
}
NOT_DELIVERIES = {"woocommerce_ping", "magento_challenge"}
SOURCES_HERE = ("woocommerce", "bigcommerce", "magento")


def test_every_storefront_sample_event_is_covered():
    names = {p.stem.removeprefix("webhook_intake_") for p in EVENTS.glob("webhook_intake_*.json")}
    assert {n for n in names if n.split("_")[0] in SOURCES_HERE} == set(EXPECTED) | NOT_DELIVERIES


def body_of(ev: dict) -> bytes:
    return base64.b64decode(ev["body"]) if ev.get("isBase64Encoded") else ev["body"].encode()


def fresh(name: str, *, body: bytes | None = None, secrets: dict | None = None) -> dict:
    """The sample event, signed again now where the committed signature would not verify."""
    ev = copy.deepcopy(event(f"webhook_intake_{name}.json"))
    source = ev["pathParameters"]["source"]
    raw = body if body is not None else body_of(ev)
    if source in ("bigcommerce", "magento") or body is not None or secrets is not None:
        topic = ev["headers"].get("x-wc-webhook-topic")
        delivery_id = ev["headers"].get("webhook-id") or "functional"
        signed = sign_delivery(source, raw, topic=topic, secrets=secrets or SECRETS, delivery_id=delivery_id)
        for header, value in signed.headers.items():
            if header.lower() not in ("x-wc-webhook-delivery-id",):
                ev["headers"][header.lower()] = value
    ev["body"], ev["isBase64Encoded"] = raw.decode(), False
    return ev


@pytest.fixture
def bigcommerce(aws) -> FakeBigCommerce:
    return install_fake_bigcommerce(aws)


def install_fake_bigcommerce(aws) -> FakeBigCommerce:
    """The fake BigCommerce store, and its API token in the hub secret."""
    from aws_lambda_powertools.utilities import parameters

    aws.put_secrets({**SECRETS, "BIGCOMMERCE_ACCESS_TOKEN": ACCESS_TOKEN})
    parameters.clear_caches()
    return FakeBigCommerce()


def reading_fake_bigcommerce(module, fake: FakeBigCommerce, monkeypatch):
    """The function with a sandbox whose BigCommerce API reads the fake store (Sandbox(bigcommerce=...))."""
    api = HttpBigCommerceApi(SecretsProvider(), transport=fake.transport())
    monkeypatch.setattr(module, "sandbox", Sandbox(bigcommerce=api))
    return module


@pytest.fixture
def intake(aws, bigcommerce, load_function, monkeypatch):
    return reading_fake_bigcommerce(load_function("webhook_intake"), bigcommerce, monkeypatch)


def call(intake, context, ev) -> tuple[int, dict]:
    response = intake.lambda_handler(ev, context)
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_is_accepted_once_and_its_events_reach_the_bus(aws, bus_tap, intake, context, name):
    types, fields = EXPECTED[name]
    ev = fresh(name)
    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "accepted"), body
    published = bus_tap.events()
    assert [p["detail-type"] for p in published] == types
    assert [p["detail"]["event_id"] for p in published] == body["event_ids"]
    source = ev["pathParameters"]["source"]
    assert all(p["source"] == f"commerce-hub.{source}" for p in published)
    # Personal fields travel sealed; read them as a consumer does (hub.shredding).
    data = open_sealed(published[0]["detail"])["data"]
    assert {k: data[k] for k in fields} == fields

    status, again = call(intake, context, ev)
    assert (status, again["status"], again["event_ids"]) == (200, "duplicate", body["event_ids"])
    assert bus_tap.events() == []


@pytest.mark.parametrize(
    "name", ["woocommerce_order_created", "bigcommerce_store_order_created", "magento_sales_order_place_after"]
)
def test_a_placed_order_reaches_the_stock_queue(aws, intake, context, name):
    status, body = call(intake, context, fresh(name))
    assert status == 200
    (message,) = aws.drain("StockQueue")
    assert message["detail-type"] == "OrderPlaced" and message["detail"]["event_id"] == body["event_ids"][0]


def test_the_woocommerce_ping_gets_200_ignored_and_publishes_nothing(aws, bus_tap, intake, context):
    ev = event("webhook_intake_woocommerce_ping.json")
    assert ev["isBase64Encoded"] is True  # a form body, as API Gateway passes it
    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "ignored")
    assert body["source"] == "woocommerce" and "ping" in body["reason"]
    assert bus_tap.events() == []


def test_the_adobe_registration_challenge_is_answered(aws, intake, context):
    ev = event("webhook_intake_magento_challenge.json")
    response = intake.lambda_handler(ev, context)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"]) == {"challenge": ev["queryStringParameters"]["challenge"]}


@pytest.mark.parametrize(
    ("source", "query", "status", "message"),
    [
        ("magento", {}, 400, "missing the challenge query parameter"),
        ("woocommerce", {"challenge": "x"}, 405, "only magento"),
        ("etsy", {"challenge": "x"}, 404, "unknown webhook source 'etsy'"),
    ],
)
def test_other_gets_are_json_errors(aws, intake, context, source, query, status, message):
    ev = event("webhook_intake_magento_challenge.json")
    ev.update(rawPath=f"/webhooks/{source}", pathParameters={"source": source}, queryStringParameters=query)
    ev["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    ev["requestContext"]["http"]["path"] = ev["rawPath"]
    got_status, body = call(intake, context, ev)
    assert got_status == status and message in body["error"]


def _stale(name: str) -> dict:
    """Signed as BigCommerce would have signed it six minutes ago (a replay)."""
    ev = fresh(name)
    signed = bigcommerce_signer.sign(
        body_of(ev),
        topic=None,
        secrets=SECRETS,
        delivery_id=ev["headers"]["webhook-id"],
        timestamp=int(time.time()) - 360,
    )
    ev["headers"].update({k.lower(): v for k, v in signed.headers.items()})
    return ev


def _tampered(name: str) -> dict:
    ev = fresh(name)
    ev["body"] = ev["body"].replace("1187", "1188", 1).replace("3108", "3109", 1).replace("139.8300", "13.9830", 1)
    return ev


@pytest.mark.parametrize(
    ("ev", "message"),
    [
        (lambda: _tampered("woocommerce_order_created"), "X-WC-Webhook-Signature signature does not match"),
        (
            lambda: fresh("woocommerce_order_created", secrets={"WOOCOMMERCE_WEBHOOK_SECRET": "not-the-secret"}),
            "does not match",
        ),
        (lambda: _tampered("bigcommerce_store_order_created"), "webhook-signature does not match"),
        (
            lambda: fresh("bigcommerce_store_order_created", secrets={"BIGCOMMERCE_CLIENT_SECRET": "not-the-secret"}),
            "webhook-signature does not match",
        ),
        (lambda: _stale("bigcommerce_store_order_created"), "more than 5 minutes old"),
        (lambda: _tampered("magento_sales_order_place_after"), "neither x-adobe-digital-signature-1 nor -2"),
        (
            lambda: {**fresh("woocommerce_order_created"), "headers": {"content-type": "application/json"}},
            "missing X-WC-Webhook-Signature",
        ),
    ],
    ids=[
        "woo-tampered",
        "woo-wrong-secret",
        "bc-tampered",
        "bc-wrong-secret",
        "bc-stale",
        "adobe-tampered",
        "woo-unsigned",
    ],
)
def test_refusals_are_401_json_errors_that_never_echo_a_secret(aws, bus_tap, intake, context, ev, message):
    status, body = call(intake, context, ev())
    assert status == 401 and message in body["error"]
    assert not any(secret in json.dumps(body) for secret in SECRET_VALUES)
    assert bus_tap.events() == []


def test_an_adobe_event_signed_by_another_key_is_refused(aws, bus_tap, intake, context):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    ev = fresh("magento_sales_order_place_after", secrets={"ADOBE_IO_PRIVATE_KEY": pem})
    status, body = call(intake, context, ev)
    assert status == 401 and "neither" in body["error"]
    assert bus_tap.events() == []


def test_a_malformed_but_signed_delivery_is_a_400(aws, bus_tap, intake, context):
    # Addressed to the hub (the local ADOBE_IO_CLIENT_ID), so it is the missing 'data' that is refused.
    body = {"type": "com.adobe.commerce.observer.x", "recipient_client_id": SECRETS["ADOBE_IO_CLIENT_ID"]}
    ev = fresh("magento_sales_order_place_after", body=json.dumps(body).encode())
    status, body = call(intake, context, ev)
    assert status == 400 and "'data'" in body["error"]
    assert bus_tap.events() == []


def _edited(name: str, change) -> bytes:
    document = json.loads(body_of(event(f"webhook_intake_{name}.json")))
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("name", "change", "field"),
    [
        (
            "woocommerce_order_created",
            lambda d: d["line_items"][0].update(total="48.001"),
            "'line_items.0.total'",
        ),
        ("woocommerce_order_created", lambda d: d["line_items"][0].update(quantity=1.5), "'line_items.0.quantity'"),
        ("woocommerce_order_created", lambda d: d.update(total="1e999"), "'total'"),
        ("woocommerce_order_created", lambda d: d.update(total=""), "'total'"),
        ("woocommerce_order_created", lambda d: d.update(total="NaN"), "'total'"),
        ("woocommerce_order_created", lambda d: d.update(total=True), "'total'"),
        (
            "magento_sales_order_place_after",
            lambda d: d["data"]["value"]["items"][2].update(price="24.00001"),
            "'data.value.items.2.price'",
        ),
        (
            "magento_sales_order_place_after",
            lambda d: d["data"]["value"]["items"][2].update(qty_ordered="2.5000"),
            "'items.2.qty_ordered'",
        ),
    ],
)
def test_an_amount_or_quantity_that_cannot_be_read_exactly_is_a_400_naming_the_field(
    aws, bus_tap, intake, context, name, change, field
):
    ev = fresh(name, body=_edited(name, change))
    status, body = call(intake, context, ev)
    assert status == 400, body
    assert field in body["error"]
    assert bus_tap.events() == []


def test_every_line_of_a_woocommerce_order_is_published_even_without_a_sku(aws, bus_tap, intake, context):
    body = _edited("woocommerce_order_created", lambda d: d["line_items"][0].update(sku=""))
    status, answer = call(intake, context, fresh("woocommerce_order_created", body=body))
    assert (status, answer["status"]) == (200, "accepted")
    placed = bus_tap.events()[0]["detail"]["data"]
    product = json.loads(body)["line_items"][0]["product_id"]
    assert placed["lines"][0]["sku"] == f"woocommerce:product:{product}:variation:0"
    assert len(placed["lines"]) == len(json.loads(body)["line_items"])


# ----------------------------------------------------------------- BigCommerce, fetch failures
def test_when_the_fetch_fails_the_delivery_is_still_durable(aws, bus_tap, bigcommerce, intake, context):
    bigcommerce.fail_next = 99
    status, body = call(intake, context, fresh("bigcommerce_store_order_created"))
    assert (status, body["status"]) == (200, "accepted")
    (published,) = bus_tap.events()
    assert published["detail-type"] == "ResourceFetchRequested"
    data = published["detail"]["data"]
    assert (data["resource"], data["resource_id"], data["scope"]) == ("order", "3108", "store/order/created")
    assert "503" in data["reason"]
    (queued,) = aws.drain("ResourceFetchQueue")
    assert queued["detail"]["event_id"] == published["detail"]["event_id"]
    assert aws.drain("StockQueue") == []

    # BigCommerce's retry of the same delivery is a duplicate: the fetch is already on its way.
    status, again = call(intake, context, fresh("bigcommerce_store_order_created"))
    assert again["status"] == "duplicate" and bus_tap.events() == []


def test_a_scope_the_hub_does_not_use_is_ignored_without_a_fetch(aws, bus_tap, bigcommerce, intake, context):
    raw = body_of(event("webhook_intake_bigcommerce_store_order_created.json"))
    status, body = call(intake, context, fresh("bigcommerce_store_order_created", body=raw.replace(b"store/order/created", b"store/cart/abandoned")))  # fmt: skip
    assert (status, body["status"]) == (200, "ignored")
    assert bigcommerce.requests == [] and bus_tap.events() == []
