import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from hub.config import parse_config
from hub.errors import MalformedPayloadError, SignatureError
from hub.events import event_id_for
from hub.intake.square import SquareSource
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider
from square.utils.webhooks_helper import verify_signature

from commerce_hub.signing import square as square_signer

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
PAYMENT = (PAYLOADS / "square_payment_updated.json").read_bytes()
CONFIG = parse_config("gateways: {square: {channel: shopify}}\nlocations: [{id: wh-east, country: US}]\n")
KEY = "sq0wbk-5Hc8Tq2Lm9Rv4Xz"
URL = "https://hooks.ada-goods.example/webhooks/square"
SECRETS = {"SQUARE_WEBHOOK_SIGNATURE_KEY": KEY, "SQUARE_NOTIFICATION_URL": URL}

# Square's published SDK vectors (square-python-sdk tests/integration/test_webhooks_helper.py).
VECTOR_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":'
    b'"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":'
    b'{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
VECTORS = [
    (
        VECTOR_BODY,
        "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=",
        "Ibxx_5AKakO-3qeNVR61Dw",
        "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
    ),
    (
        b'{"data":{"type":"webhooks","id":">id<"}}',
        "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
        "signature-key",
        "https://webhook.site/webhooks",
    ),
]


def sign(body: bytes, key: str = KEY, url: str = URL) -> str:
    return base64.b64encode(hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()).decode()


def signed(body: bytes = PAYMENT, **kwargs: str) -> WebhookRequest:
    return WebhookRequest({"x-square-hmacsha256-signature": sign(body, **kwargs)}, body)


def verify(request: WebhookRequest, values: dict | None = None) -> None:
    SquareSource().verify(request, SecretsProvider(values=values if values is not None else SECRETS))


# --- signatures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "header", "key", "url"), VECTORS)
def test_published_vectors_verify(body, header, key, url):
    request = WebhookRequest({"x-square-hmacsha256-signature": header}, body)
    verify(request, {"SQUARE_WEBHOOK_SIGNATURE_KEY": key, "SQUARE_NOTIFICATION_URL": url})


@pytest.mark.parametrize(("body", "header", "key", "url"), VECTORS)
def test_published_vectors_are_what_the_project_signer_makes(body, header, key, url):
    secrets = {"SQUARE_WEBHOOK_SIGNATURE_KEY": key, "SQUARE_NOTIFICATION_URL": url}
    delivery = square_signer.sign(body, topic=None, secrets=secrets, delivery_id="x")
    assert delivery.headers["x-square-hmacsha256-signature"] == header


def test_the_project_signer_passes_squares_own_verifier():
    delivery = square_signer.sign(PAYMENT, topic=None, secrets=SECRETS, delivery_id="x")
    assert verify_signature(
        request_body=PAYMENT.decode(),
        signature_header=delivery.headers["x-square-hmacsha256-signature"],
        signature_key=KEY,
        notification_url=URL,
    )
    verify(WebhookRequest({k.lower(): v for k, v in delivery.headers.items()}, PAYMENT))


def test_squares_verifier_and_the_hub_agree_on_a_tampered_body():
    header = sign(PAYMENT)
    tampered = PAYMENT.replace(b"6875", b"6975")
    assert not verify_signature(
        request_body=tampered.decode(), signature_header=header, signature_key=KEY, notification_url=URL
    )
    with pytest.raises(SignatureError):
        verify(WebhookRequest({"x-square-hmacsha256-signature": header}, tampered))


def test_the_signer_falls_back_to_the_stacks_own_url():
    secrets = {"SQUARE_WEBHOOK_SIGNATURE_KEY": KEY}
    delivery = square_signer.sign(PAYMENT, topic=None, secrets=secrets, delivery_id="x", url="http://127.0.0.1:3999/")
    assert delivery.headers["x-square-hmacsha256-signature"] == sign(
        PAYMENT, url="http://127.0.0.1:3999/webhooks/square"
    )


@pytest.mark.parametrize("key", ["sq0wbk-old-key", KEY])
def test_every_configured_signature_key_is_tried(key):
    verify(signed(key=key), {**SECRETS, "SQUARE_WEBHOOK_SIGNATURE_KEY": json.dumps(["sq0wbk-old-key", KEY])})


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (WebhookRequest({}, PAYMENT), "missing x-square-hmacsha256-signature header"),
        (signed(key="someone-elses-key"), "does not match the body"),
        (signed(url="https://hooks.ada-goods.example/webhooks/square/"), "SQUARE_NOTIFICATION_URL is exactly"),
        (WebhookRequest(signed().headers, PAYMENT + b" "), "does not match the body"),
    ],
)
def test_bad_signatures_are_refused(request_, message):
    with pytest.raises(SignatureError, match=message) as caught:
        verify(request_)
    assert KEY not in caught.value.message


def test_no_configured_key_or_url_refuses_rather_than_accepts():
    with pytest.raises(SignatureError, match="no Square webhook signature key"):
        verify(signed(), {"SQUARE_NOTIFICATION_URL": URL})
    with pytest.raises(SignatureError, match="no SQUARE_NOTIFICATION_URL"):
        verify(signed(), {"SQUARE_WEBHOOK_SIGNATURE_KEY": KEY})


# --- normalisation --------------------------------------------------------------------------------


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"square_{name}.json").read_text())


def parse(document: dict | bytes, config=CONFIG):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return SquareSource().parse(WebhookRequest({}, body), config)


def test_a_completed_payment_becomes_payment_succeeded():
    delivery = parse(PAYMENT)
    assert delivery.dedupe_key == "square:4f1b7c2e-9a36-4d58-b0e1-7c3a2f9d6e84"
    (event,) = delivery.events
    assert event.type == "PaymentSucceeded"
    assert event.channel == "shopify"
    data = event.data
    assert (data.gateway, data.payment_id, data.amount, data.currency) == (
        "square",
        "R2Bx7LmQ4kVnP9wZtY8cJ3hD6fGaE",
        6875,
        "USD",
    )
    assert data.reference.order_id == "5849162203418"
    assert data.customer_email == "mary.jackson@example.com"
    assert (event.provider.topic, event.provider.account) == ("payment.updated", "MLQ8T3XW9ZK2B")
    assert event.occurred_at.isoformat() == "2026-11-24T17:05:42.318000+00:00"


def test_payment_created_and_updated_for_one_completed_payment_are_one_event():
    created = payload("payment_updated")
    created.update(type="payment.created", event_id="0b6e2d94-1c7a-4f3e-8d25-9a4c6b1e7f30")
    first, again = parse(created).events[0], parse(PAYMENT).events[0]
    assert (
        first.event_id == again.event_id == event_id_for("square", "PaymentSucceeded", "R2Bx7LmQ4kVnP9wZtY8cJ3hD6fGaE")
    )
    assert parse(created).dedupe_key != parse(PAYMENT).dedupe_key


@pytest.mark.parametrize(("status", "reason"), [("FAILED", "generic_decline"), ("CANCELED", "canceled")])
def test_failed_and_canceled_payments_become_payment_failed(status, reason):
    body = payload("payment_updated")
    body["data"]["object"]["payment"]["status"] = status
    if status == "FAILED":
        body["data"]["object"]["payment"]["card_details"].update(
            status="FAILED", errors=[{"code": "GENERIC_DECLINE", "category": "PAYMENT_METHOD_ERROR"}]
        )
    (event,) = parse(body).events
    assert (event.type, event.data.failure_reason) == ("PaymentFailed", reason)


@pytest.mark.parametrize("status", ["APPROVED", "PENDING"])
def test_a_payment_in_flight_is_ignored(status):
    body = payload("payment_updated")
    body["data"]["object"]["payment"]["status"] = status
    delivery = parse(body)
    assert delivery.events == [] and status in delivery.ignored_reason


def test_without_gateway_configuration_the_channel_is_square():
    assert parse(PAYMENT, parse_config("locations: [{id: wh-east, country: US}]\n")).events[0].channel == "square"


@pytest.mark.parametrize(
    ("event_type", "status", "expected"),
    [
        ("refund.updated", "COMPLETED", "completed"),
        ("refund.created", "PENDING", "pending"),
        ("refund.updated", "FAILED", "failed"),
        ("refund.updated", "REJECTED", "failed"),
    ],
)
def test_refunds_become_payment_refunded_with_their_status(event_type, status, expected):
    body = payload("refund_updated")
    body["type"] = event_type
    body["data"]["object"]["refund"]["status"] = status
    (event,) = parse(body).events
    assert event.type == "PaymentRefunded"
    data = event.data
    assert (data.payment_id, data.amount, data.currency, data.status) == (
        "R2Bx7LmQ4kVnP9wZtY8cJ3hD6fGaE",
        2250,
        "USD",
        expected,
    )
    assert data.refund_id == "R2Bx7LmQ4kVnP9wZtY8cJ3hD6fGaE_Hk4nT8vW2pL6xR9zB3mQ7sY1cJ5fD0aG"
    assert event.event_id == event_id_for("square", "PaymentRefunded", data.refund_id, expected)


def test_inventory_count_becomes_a_stock_level_report():
    (event,) = parse(payload("inventory_count_updated")).events
    assert event.type == "StockLevelReported"
    data = event.data
    assert (data.sku, data.available, data.platform_item_id, data.platform_location_id) == (
        None,
        17,
        "W7QX3KZ5N2LBTRYM4JDPH6AV",
        "LQ3W6R9T2Y5UA",
    )
    assert event.channel == "square"


def test_only_in_stock_counts_are_reported_and_fractions_round_down():
    body = payload("inventory_count_updated")
    counts = body["data"]["object"]["inventory_counts"]
    counts.append({**counts[0], "state": "WASTE", "quantity": "2"})
    counts.append({**counts[0], "location_id": "LQ7M2N5P8R1TB", "quantity": "3.75"})
    events = parse(body).events
    assert [(e.data.platform_location_id, e.data.available) for e in events] == [
        ("LQ3W6R9T2Y5UA", 17),
        ("LQ7M2N5P8R1TB", 3),
    ]
    assert len({e.event_id for e in events}) == 2


def test_an_inventory_update_with_nothing_in_stock_is_ignored():
    body = payload("inventory_count_updated")
    body["data"]["object"]["inventory_counts"][0]["state"] = "SOLD"
    assert parse(body).ignored_reason == "no IN_STOCK count in this inventory update"


@pytest.mark.parametrize("event_type", ["order.created", "order.updated"])
def test_square_orders_are_ignored(event_type):
    delivery = parse({"merchant_id": "MLQ8T3XW9ZK2B", "type": event_type, "event_id": "e1", "data": {}})
    assert delivery.events == [] and "point of sale" in delivery.ignored_reason


def test_event_types_the_hub_does_not_use_are_ignored():
    delivery = parse(VECTOR_BODY)
    assert delivery.events == [] and "webhooks.test_notification" in delivery.ignored_reason


def _payment_with(**changes) -> dict:
    body = payload("payment_updated")
    body["data"]["object"]["payment"].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        ({"type": "payment.updated"}, "not a Square webhook event: 'event_id'"),
        ({**payload("payment_updated"), "data": {"object": {}}}, "'data.object.payment': Field required"),
        (
            _payment_with(amount_money={"amount": "68.75", "currency": "USD"}),
            "'data.object.payment.amount_money.amount'",
        ),
        (_payment_with(amount_money={"amount": 68.75, "currency": "USD"}), "'data.object.payment.amount_money.amount'"),
    ],
)
def test_malformed_events_say_what_is_wrong(body, message):
    with pytest.raises(MalformedPayloadError, match=message):
        parse(body)


def test_a_count_that_is_not_a_number_is_malformed():
    body = payload("inventory_count_updated")
    body["data"]["object"]["inventory_counts"][0]["quantity"] = "lots"
    with pytest.raises(MalformedPayloadError, match=r"'data\.object\.inventory_counts\.0\.quantity' is not a number"):
        parse(body)
