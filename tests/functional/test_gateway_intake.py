"""webhook_intake with moto for the payment gateways: each events/webhook_intake_{stripe,paypal,square}_*.json
through lambda_handler, its canonical event observed on the bus, duplicates published once, refusals as
JSON errors.

Two of the sample events are signed again at test time, as the vendor would sign a fresh delivery:
Stripe's signed timestamp goes stale (300 s), and PayPal's signature is made with the local key pair
that each checkout generates for itself (commerce_hub.local.keys), so the committed event carries the
signature of the checkout that made it. Square's events verify as committed: they are signed with the
documented local key over the documented local notification URL.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets
from commerce_hub.signing import sign_delivery
from commerce_hub.signing import stripe as stripe_signer
from tests.functional.conftest import EVENTS, ROOT, event

SECRETS = local_secrets({}, local_signing_keys(ROOT))
SECRET_VALUES = [SECRETS[k] for k in ("STRIPE_WEBHOOK_SECRET", "PAYPAL_WEBHOOK_ID", "SQUARE_WEBHOOK_SIGNATURE_KEY")]

# event file -> (detail-type on the bus, the fields of its data that must arrive exactly)
EXPECTED: dict[str, tuple[str, dict]] = {
    "stripe_payment_intent_succeeded": (
        "PaymentSucceeded",
        {"payment_id": "pi_3RkT7mHq2wXyZa0B1s8TuV2w", "amount": 7450, "currency": "USD"},
    ),
    "stripe_payment_intent_payment_failed": (
        "PaymentFailed",
        {"amount": 3290, "failure_reason": "card_declined (insufficient_funds)"},
    ),
    "stripe_charge_refunded": ("PaymentRefunded", {"amount": 2600, "payment_amount": 7450, "status": "completed"}),
    "stripe_charge_dispute_created": (
        "PaymentDisputed",
        {"dispute_id": "du_1RkZ4pHq2wXyZa0Bq3RsTu6V", "status": "opened"},
    ),
    "stripe_checkout_session_completed": (
        "PaymentSucceeded",
        {"payment_id": "pi_3RkV9aHq2wXyZa0B0cD4eF5g", "amount": 5184},
    ),
    "stripe_checkout_session_expired": ("CheckoutExpired", {"total": 2592, "currency": "USD"}),
    "paypal_payment_capture_completed": ("PaymentSucceeded", {"payment_id": "8MC585209K746392H", "amount": 11235}),
    "paypal_payment_capture_denied": (
        "PaymentFailed",
        {"amount": 4800, "failure_reason": "declined_by_risk_fraud_filters"},
    ),
    "paypal_payment_capture_refunded": ("PaymentRefunded", {"refund_id": "6HW40193SE771504N", "amount": 3745}),
    "paypal_customer_dispute_created": ("PaymentDisputed", {"dispute_id": "PP-R-KXD-10384562", "amount": 11235}),
    "square_payment_updated": ("PaymentSucceeded", {"payment_id": "R2Bx7LmQ4kVnP9wZtY8cJ3hD6fGaE", "amount": 6875}),
    "square_refund_updated": ("PaymentRefunded", {"amount": 2250, "status": "completed"}),
    "square_inventory_count_updated": ("StockLevelReported", {"available": 17, "sku": None}),
}
# config/local.yaml: stripe -> woocommerce, paypal -> magento, square -> shopify; Square stock is Square's own.
CHANNELS = {"stripe": "woocommerce", "paypal": "magento", "square": "shopify"}


def test_every_gateway_sample_event_is_covered():
    names = {p.stem.removeprefix("webhook_intake_") for p in EVENTS.glob("webhook_intake_*.json")}
    assert {n for n in names if n.split("_")[0] in CHANNELS} == set(EXPECTED)


def body_of(ev: dict) -> bytes:
    return ev["body"].encode()


def fresh(name: str, *, body: bytes | None = None, secrets: dict | None = None, **signing) -> dict:
    """The sample event, signed again now where the vendor's signature would not verify as committed."""
    ev = copy.deepcopy(event(f"webhook_intake_{name}.json"))
    source = ev["pathParameters"]["source"]
    if body is not None:
        ev["body"] = body.decode()
    if source == "stripe":
        ev["headers"]["stripe-signature"] = stripe_signer.signature_header(
            body_of(ev), (secrets or SECRETS)["STRIPE_WEBHOOK_SECRET"], signing.get("timestamp", int(time.time()))
        )
    elif source == "paypal":
        delivery = sign_delivery(
            "paypal", body_of(ev), topic=None, secrets=secrets or SECRETS,
            delivery_id=ev["headers"]["paypal-transmission-id"],
        )  # fmt: skip
        ev["headers"].update({k.lower(): v for k, v in delivery.headers.items()})
    elif body is not None or secrets is not None:
        delivery = sign_delivery("square", body_of(ev), topic=None, secrets=secrets or SECRETS, delivery_id="x")
        ev["headers"].update({k.lower(): v for k, v in delivery.headers.items()})
    ev["headers"]["content-length"] = str(len(body_of(ev)))
    return ev


@pytest.fixture
def intake(aws, load_function):
    return load_function("webhook_intake")


def call(intake, context, ev: dict) -> tuple[int, dict]:
    response = intake.lambda_handler(ev, context)
    assert response["headers"]["Content-Type"].startswith("application/json")
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_gateway_delivery_reaches_the_bus_once(aws, bus_tap, intake, context, name):
    detail_type, fields = EXPECTED[name]
    source = name.split("_")[0]
    ev = fresh(name)

    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "accepted"), body
    (published,) = bus_tap.events()
    assert (published["source"], published["detail-type"]) == (f"commerce-hub.{source}", detail_type)
    detail = published["detail"]
    assert detail["event_id"] == body["event_ids"][0]
    assert detail["channel"] == ("square" if detail_type == "StockLevelReported" else CHANNELS[source])
    assert {k: detail["data"][k] for k in fields} == fields

    # The vendor's retry of the same delivery is acknowledged and publishes nothing.
    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "duplicate")
    assert bus_tap.events() == []


def test_the_same_stripe_event_signed_again_later_is_still_a_duplicate(aws, bus_tap, intake, context):
    assert call(intake, context, fresh("stripe_payment_intent_succeeded", timestamp=int(time.time()) - 60))[0] == 200
    status, body = call(intake, context, fresh("stripe_payment_intent_succeeded"))
    assert (status, body["status"]) == (200, "duplicate")
    assert len(bus_tap.events()) == 1


def test_a_payment_reported_by_two_stripe_events_has_one_canonical_id(aws, bus_tap, intake, context):
    session = json.loads(event("webhook_intake_stripe_checkout_session_completed.json")["body"])
    intent = json.loads(event("webhook_intake_stripe_payment_intent_succeeded.json")["body"])
    intent["id"] = "evt_3RkV9cHq2wXyZa0B0pI7sUcC"
    intent["data"]["object"]["id"] = session["data"]["object"]["payment_intent"]
    call(intake, context, fresh("stripe_checkout_session_completed"))
    call(intake, context, fresh("stripe_payment_intent_succeeded", body=json.dumps(intent).encode()))
    ids = [e["detail"]["event_id"] for e in bus_tap.events()]
    assert len(ids) == 2 and ids[0] == ids[1]


def _tampered(name: str) -> dict:
    ev = fresh(name)
    ev["body"] = ev["body"].replace('"USD"', '"EUR"', 1).replace('"usd"', '"eur"', 1)
    assert ev["body"] != fresh(name)["body"]
    return ev


def _wrong_secret(name: str) -> dict:
    wrong = {
        **SECRETS,
        "STRIPE_WEBHOOK_SECRET": "whsec_not_this_hubs",
        "PAYPAL_WEBHOOK_ID": "NOT-THIS-HUBS-WEBHOOK",
        "SQUARE_WEBHOOK_SIGNATURE_KEY": "not-this-hubs-key",
    }
    return fresh(name, body=body_of(event(f"webhook_intake_{name}.json")), secrets=wrong)


def _foreign_cert_url(name: str) -> dict:
    ev = fresh(name)
    ev["headers"]["paypal-cert-url"] = "https://paypal-certs.attacker.example/v1/notifications/certs/CERT-1"
    return ev


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("stripe_payment_intent_succeeded", _tampered, "does not match the body"),
        ("paypal_payment_capture_completed", _tampered, "does not match this body"),
        ("square_payment_updated", _tampered, "does not match the body"),
        ("stripe_payment_intent_succeeded", _wrong_secret, "check STRIPE_WEBHOOK_SECRET"),
        ("paypal_payment_capture_completed", _wrong_secret, "PAYPAL_WEBHOOK_ID"),
        ("square_payment_updated", _wrong_secret, "check the Square signature key"),
        (
            "stripe_payment_intent_succeeded",
            lambda n: fresh(n, timestamp=int(time.time()) - 400),
            "s old and the hub accepts 300 s",
        ),
        ("paypal_payment_capture_completed", _foreign_cert_url, "host 'paypal-certs.attacker.example'"),
        (
            "stripe_payment_intent_succeeded",
            lambda n: fresh(n) | {"headers": {"content-type": "application/json"}},
            "missing Stripe-Signature header",
        ),
    ],
)
def test_refusals_are_json_errors_that_say_what_is_wrong(aws, bus_tap, intake, context, name, make, message):
    status, body = call(intake, context, make(name))
    assert status == 401
    assert message in body["error"]
    assert not any(secret in json.dumps(body) for secret in SECRET_VALUES)
    assert bus_tap.events() == []


def test_a_malformed_gateway_body_is_a_400(aws, bus_tap, intake, context):
    document = json.loads(event("webhook_intake_square_payment_updated.json")["body"])
    del document["data"]["object"]["payment"]["amount_money"]
    status, body = call(intake, context, fresh("square_payment_updated", body=json.dumps(document).encode()))
    assert status == 400
    assert "'data.object.payment.amount_money': Field required" in body["error"]
    assert bus_tap.events() == []


def test_a_gateway_topic_the_hub_does_not_use_is_ignored(aws, bus_tap, intake, context):
    document = {
        "merchant_id": "MLQ8T3XW9ZK2B",
        "type": "order.updated",
        "event_id": "5d0c1b7e-3f2a-4e96-b8d4-0a6c9e2f1b73",
        "created_at": "2026-11-24T17:05:43.102Z",
        "data": {"type": "order_updated", "id": "xK9mR2vQ7LpT4wB8nZ3cY6hJ1fGaD", "object": {"order_updated": {}}},
    }
    status, body = call(intake, context, fresh("square_payment_updated", body=json.dumps(document).encode()))
    assert (status, body["status"]) == (200, "ignored")
    assert "point of sale" in body["reason"]
    assert bus_tap.events() == []


def test_sample_payloads_are_the_bodies_of_the_sample_events():
    for name in EXPECTED:
        payload = (ROOT / "events" / "payloads" / f"{name}.json").read_bytes()
        assert body_of(event(f"webhook_intake_{name}.json")) == payload, name


def test_square_sample_events_verify_as_committed(aws, bus_tap, intake, context):
    status, body = call(intake, context, event("webhook_intake_square_refund_updated.json"))
    assert (status, body["status"]) == (200, "accepted")
