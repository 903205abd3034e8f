import json
from pathlib import Path

import pytest
import stripe
from hub.config import parse_config
from hub.errors import MalformedPayloadError, SignatureError
from hub.events import event_id_for
from hub.intake.stripe import StripeSource
from hub.ports import WebhookRequest
from hub.secrets import SecretsProvider

from commerce_hub.signing import stripe as stripe_signer

PAYLOADS = Path(__file__).resolve().parents[2] / "events" / "payloads"
SUCCEEDED = (PAYLOADS / "stripe_payment_intent_succeeded.json").read_bytes()
CONFIG = parse_config("gateways: {stripe: {channel: woocommerce}}\nlocations: [{id: wh-east, country: US}]\n")
SECRET = "whsec_test_5mK2pQ8vXz"
NOW = 1_795_533_130


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"stripe_{name}.json").read_text())


def raw(document: dict) -> bytes:
    return json.dumps(document).encode()


def signed(body: bytes = SUCCEEDED, *, secret: str = SECRET, at: int = NOW) -> WebhookRequest:
    return WebhookRequest({"stripe-signature": stripe_signer.signature_header(body, secret, at)}, body)


def source(now: int = NOW) -> StripeSource:
    return StripeSource(clock=lambda: now)


def secrets(value: str = SECRET) -> SecretsProvider:
    return SecretsProvider(values={"STRIPE_WEBHOOK_SECRET": value})


def parse(body: bytes, config=CONFIG):
    return source().parse(WebhookRequest({}, body), config)


# --- signatures -----------------------------------------------------------------------------------


def test_published_vector_verifies():
    # secret "secret", t=123, payload "hello" (typeclasses/stripe, stripe-signature test suite).
    expected = "f89c0a0e96fa6304a7ebd5ecaf13bc1beb859577cd7cafb7bdbc43c3bc2f6afa"
    assert stripe_signer.signature_header(b"hello", "secret", 123) == f"t=123,v1={expected}"
    request = WebhookRequest({"stripe-signature": f"t=123,v1={expected}"}, b"hello")
    source(now=123).verify(request, secrets("secret"))


def test_a_header_made_by_the_stripe_sdk_verifies():
    header = stripe.WebhookSignature.generate_signature_header(SUCCEEDED.decode(), SECRET, timestamp=NOW)
    source().verify(WebhookRequest({"stripe-signature": header}, SUCCEEDED), secrets())


def test_the_project_signer_passes_the_stripe_sdk():
    delivery = stripe_signer.sign(SUCCEEDED, topic=None, secrets={"STRIPE_WEBHOOK_SECRET": SECRET}, delivery_id="x")
    event = stripe.Webhook.construct_event(delivery.body, delivery.headers["Stripe-Signature"], SECRET)
    assert event.id == "evt_3RkT7mHq2wXyZa0B1c4dEf9G"


def test_any_of_several_v1_signatures_verifies():
    good = signed().headers["stripe-signature"].split("v1=")[1]
    header = f"t={NOW},v1={'0' * 64},v1={good},v0={'1' * 64}"
    source().verify(WebhookRequest({"stripe-signature": header}, SUCCEEDED), secrets())


@pytest.mark.parametrize("signing_secret", ["whsec_old_1Yq", SECRET])
def test_every_configured_secret_is_tried(signing_secret):
    source().verify(signed(secret=signing_secret), secrets(json.dumps(["whsec_old_1Yq", SECRET])))


def test_during_a_rotation_a_third_secret_is_still_refused():
    with pytest.raises(SignatureError, match="does not match the body"):
        source().verify(signed(secret="whsec_retired_0"), secrets(json.dumps(["whsec_old_1Yq", SECRET])))


def test_a_timestamp_at_the_tolerance_is_accepted():
    StripeSource(clock=lambda: NOW + 300).verify(signed(), secrets())


def test_a_timestamp_at_the_tolerance_in_the_future_is_accepted():
    # Stripe's clock a little ahead of ours is normal; up to the tolerance is allowed.
    StripeSource(clock=lambda: NOW - 300).verify(signed(), secrets())


def _v1(body: bytes, at: int, secret: str = SECRET) -> str:
    return stripe_signer.signature_header(body, secret, at).split("v1=")[1]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (WebhookRequest({}, SUCCEEDED), "missing Stripe-Signature header"),
        (signed(secret="whsec_someone_else"), "does not match the body"),
        (WebhookRequest(signed().headers, SUCCEEDED + b"\n"), "does not match the body"),
        (WebhookRequest({"stripe-signature": "v1=abc"}, SUCCEEDED), "no t= timestamp"),
        (WebhookRequest({"stripe-signature": "garbage"}, SUCCEEDED), "no t= timestamp"),
        (WebhookRequest({"stripe-signature": f"t={NOW},v0=abc"}, SUCCEEDED), "no v1 signature"),
        (WebhookRequest({"stripe-signature": f"t={NOW},v1="}, SUCCEEDED), "no v1 signature"),
        (WebhookRequest({"stripe-signature": f"t={NOW},V1={_v1(SUCCEEDED, NOW)}"}, SUCCEEDED), "no v1 signature"),
        (WebhookRequest({"stripe-signature": "t=yesterday,v1=abc"}, SUCCEEDED), "not unix seconds"),
        (WebhookRequest({"stripe-signature": "t=-5,v1=abc"}, SUCCEEDED), "not unix seconds"),
        (WebhookRequest({"stripe-signature": f"t={'9' * 40},v1=abc"}, SUCCEEDED), "not unix seconds"),
        (WebhookRequest({"stripe-signature": f"t={NOW},v1=\u00e9"}, SUCCEEDED), "not ASCII"),
        # The same t twice is no replay, but it is not Stripe's header either.
        (
            WebhookRequest({"stripe-signature": f"t={NOW},t={NOW},v1={_v1(SUCCEEDED, NOW)}"}, SUCCEEDED),
            "2 t= timestamps",
        ),
        (
            WebhookRequest({"stripe-signature": f"v1={_v1(SUCCEEDED, NOW)}, t={NOW}"}, SUCCEEDED),
            "spaces around t=",
        ),
    ],
)
def test_bad_signatures_are_refused(request_, message):
    with pytest.raises(SignatureError, match=message) as caught:
        source().verify(request_, secrets())
    assert SECRET not in caught.value.message


def test_a_stale_timestamp_is_refused_even_when_the_signature_is_right():
    with pytest.raises(SignatureError, match="timestamp is 301 s old and the hub accepts 300 s"):
        StripeSource(clock=lambda: NOW + 301).verify(signed(), secrets())


def test_a_timestamp_beyond_the_tolerance_in_the_future_is_refused():
    with pytest.raises(SignatureError, match="301 s in the future and the hub accepts 300 s"):
        StripeSource(clock=lambda: NOW - 301).verify(signed(), secrets())


def test_a_captured_delivery_with_a_far_future_t_prepended_is_refused():
    """The replay from the security review: a delivery captured at `old`, resent hours later.

    Stripe signed `t=old`; the attacker keeps that signature and adds ` t=9999999999` before it.
    stripe-python reads the first exact `t` (old), a reader that strips spaces reads the future one,
    stripe-node the last: a verifier that signs with one reading and checks the clock with another
    accepts it for ever. The hub reads the header once and refuses a second `t`.
    """
    old = NOW - 6 * 3600
    header = f"v1={_v1(SUCCEEDED, old)}, t=9999999999,t={old}"
    # The signature itself is genuine: the stripe SDK, with no window, accepts it.
    assert stripe.WebhookSignature.verify_header(SUCCEEDED.decode(), header, SECRET, tolerance=None)
    with pytest.raises(SignatureError, match="2 t= timestamps"):
        source().verify(WebhookRequest({"stripe-signature": header}, SUCCEEDED), secrets())


@pytest.mark.parametrize("order", ["future-first", "future-last"])
def test_a_second_t_is_refused_whichever_comes_first(order):
    old = NOW - 3600
    parts = [f"t={old}", "t=9999999999"] if order == "future-last" else ["t=9999999999", f"t={old}"]
    header = ",".join([*parts, f"v1={_v1(SUCCEEDED, old)}"])
    with pytest.raises(SignatureError, match="2 t= timestamps"):
        source().verify(WebhookRequest({"stripe-signature": header}, SUCCEEDED), secrets())


@pytest.mark.parametrize(
    ("header", "hub_accepts"),
    [
        (f"t={NOW},v1={_v1(SUCCEEDED, NOW)}", True),
        (f"t={NOW},v1={'0' * 64},v1={_v1(SUCCEEDED, NOW)},v0={'1' * 64}", True),
        (f"t={NOW - 301},v1={_v1(SUCCEEDED, NOW - 301)}", False),
        (f"t={NOW},v1={_v1(SUCCEEDED, NOW, 'whsec_other')}", False),
        (f"t={NOW},v0={_v1(SUCCEEDED, NOW)}", False),
        # stripe-python accepts this one (it reads the first exact t); the hub is stricter.
        (f"v1={_v1(SUCCEEDED, NOW)}, t=9999999999,t={NOW}", False),
        (f"t={NOW}, v1={_v1(SUCCEEDED, NOW)}", False),  # " v1" is not v1 for either
        ("t=,v1=00", False),
    ],
)
def test_whatever_the_stripe_sdk_refuses_the_hub_refuses(header, hub_accepts, monkeypatch):
    """Cross-check with stripe-python (its clock frozen at the hub's): the hub is never more lenient."""
    monkeypatch.setattr(stripe._webhook.time, "time", lambda: float(NOW))
    try:
        stripe.WebhookSignature.verify_header(SUCCEEDED.decode(), header, SECRET, tolerance=300)
        sdk_accepts = True
    except stripe.SignatureVerificationError:
        sdk_accepts = False
    try:
        source().verify(WebhookRequest({"stripe-signature": header}, SUCCEEDED), secrets())
        accepted = True
    except SignatureError:
        accepted = False
    assert accepted == hub_accepts
    assert accepted <= sdk_accepts


def test_the_tolerance_can_be_set():
    with pytest.raises(SignatureError, match="accepts 60 s"):
        StripeSource(clock=lambda: NOW + 61, tolerance=60).verify(signed(), secrets())


def test_no_configured_secret_refuses_rather_than_accepts():
    with pytest.raises(SignatureError, match="no Stripe webhook secret"):
        source().verify(signed(), SecretsProvider(values={}))


def test_a_signed_body_that_is_not_utf8_is_malformed_not_a_signature_failure():
    body = b"\xff\xfe{}"
    source().verify(signed(body), secrets())  # the bytes are what Stripe signed
    with pytest.raises(MalformedPayloadError, match="not valid JSON"):
        parse(body)


# --- normalisation --------------------------------------------------------------------------------


def test_payment_intent_succeeded_becomes_payment_succeeded():
    delivery = parse(SUCCEEDED)
    assert (delivery.dedupe_key, delivery.topic) == ("stripe:evt_3RkT7mHq2wXyZa0B1c4dEf9G", "payment_intent.succeeded")
    (event,) = delivery.events
    assert event.type == "PaymentSucceeded"
    assert event.channel == "woocommerce"
    assert event.event_id == event_id_for("stripe", "PaymentSucceeded", "pi_3RkT7mHq2wXyZa0B1s8TuV2w")
    data = event.data
    assert (data.gateway, data.payment_id, data.amount, data.currency) == (
        "stripe",
        "pi_3RkT7mHq2wXyZa0B1s8TuV2w",
        7450,
        "USD",
    )
    assert data.reference.order_id == "2187"
    assert data.reference.order_key == "wc_order_Xq7RtN2kLp9sd"
    assert data.reference.site_url == "https://ada-goods.example"
    assert data.customer_email == "grace.hopper@example.com"
    assert event.provider.topic == "payment_intent.succeeded"
    assert event.provider.event_id == "evt_3RkT7mHq2wXyZa0B1c4dEf9G"
    assert event.occurred_at.timestamp() == 1795533125


def test_a_redelivery_maps_to_the_same_event_id():
    assert parse(SUCCEEDED).events[0].event_id == parse(SUCCEEDED).events[0].event_id


def test_zero_decimal_currencies_keep_stripes_integer():
    body = payload("payment_intent_succeeded")
    body["data"]["object"].update(currency="jpy", amount=5000, amount_received=5000)
    event = parse(raw(body)).events[0]
    assert (event.data.amount, event.data.currency) == (5000, "JPY")


def test_channel_comes_from_the_payment_first():
    body = payload("payment_intent_succeeded")
    body["data"]["object"]["metadata"]["channel"] = "outlet"
    assert parse(raw(body)).events[0].channel == "outlet"


def test_channel_comes_from_a_configured_site_url_before_the_gateway():
    config = parse_config(
        "channels: {shop-us: {platform: woocommerce, site_url: 'https://ada-goods.example/'}}\n"
        "gateways: {stripe: {channel: woocommerce}}\nlocations: [{id: wh-east, country: US}]\n"
    )
    assert parse(SUCCEEDED, config).events[0].channel == "shop-us"


def test_without_gateway_configuration_the_channel_is_stripe():
    config = parse_config("locations: [{id: wh-east, country: US}]\n")
    assert parse(SUCCEEDED, config).events[0].channel == "stripe"


def test_payment_failed_carries_the_decline():
    (event,) = parse(raw(payload("payment_intent_payment_failed"))).events
    assert event.type == "PaymentFailed"
    assert (event.data.amount, event.data.failure_reason) == (3290, "card_declined (insufficient_funds)")
    assert event.data.reference.order_id == "2188"
    assert event.event_id == event_id_for("stripe", "evt_3RkU1aHq2wXyZa0B0f5GhJ7k")


def test_payment_intent_canceled_is_a_failure_with_reason_canceled():
    body = payload("payment_intent_payment_failed")
    body["type"] = "payment_intent.canceled"
    body["data"]["object"].update(status="canceled", cancellation_reason="abandoned", last_payment_error=None)
    (event,) = parse(raw(body)).events
    assert (event.type, event.data.failure_reason) == ("PaymentFailed", "canceled")


def test_charge_refunded_without_the_refund_list_uses_what_moved():
    (event,) = parse(raw(payload("charge_refunded"))).events
    assert event.type == "PaymentRefunded"
    data = event.data
    assert (data.payment_id, data.amount, data.payment_amount, data.currency, data.status) == (
        "pi_3RkT7mHq2wXyZa0B1s8TuV2w",
        2600,
        7450,
        "USD",
        "completed",
    )
    assert data.refund_id == "ch_3RkT7mHq2wXyZa0B1mJ6pQrs:refunded:2600"
    assert data.reference.order_id == "2187"


def test_a_second_partial_refund_is_the_difference():
    body = payload("charge_refunded")
    body["id"] = "evt_second"
    body["data"]["object"].update(amount_refunded=7450, refunded=True)
    body["data"]["previous_attributes"] = {"amount_refunded": 2600}
    data = parse(raw(body)).events[0].data
    assert (data.amount, data.refund_id) == (4850, "ch_3RkT7mHq2wXyZa0B1mJ6pQrs:refunded:7450")


def test_charge_refunded_with_the_refund_list_names_the_latest_refund():
    body = payload("charge_refunded")
    body["data"]["object"]["refunds"] = {
        "object": "list",
        "data": [
            {"id": "re_3RkT7mHq2wXyZa0B1aaa", "amount": 1000, "status": "succeeded", "created": 1795600000},
            {"id": "re_3RkT7mHq2wXyZa0B1bbb", "amount": 1600, "status": "pending", "created": 1795619529},
        ],
    }
    data = parse(raw(body)).events[0].data
    assert (data.refund_id, data.amount, data.status) == ("re_3RkT7mHq2wXyZa0B1bbb", 1600, "pending")


def test_dispute_created_is_opened():
    (event,) = parse(raw(payload("charge_dispute_created"))).events
    assert event.type == "PaymentDisputed"
    data = event.data
    assert (data.dispute_id, data.payment_id, data.amount, data.status, data.reason) == (
        "du_1RkZ4pHq2wXyZa0Bq3RsTu6V",
        "pi_3RkT7mHq2wXyZa0B1s8TuV2w",
        7450,
        "opened",
        "product_not_received",
    )


@pytest.mark.parametrize(("status", "expected"), [("won", "won"), ("lost", "lost"), ("warning_closed", "closed")])
def test_dispute_closed_is_won_or_lost(status, expected):
    body = payload("charge_dispute_created")
    body["type"] = "charge.dispute.closed"
    body["data"]["object"]["status"] = status
    assert parse(raw(body)).events[0].data.status == expected


def test_a_paid_checkout_session_is_the_same_payment_as_its_payment_intent():
    (event,) = parse(raw(payload("checkout_session_completed"))).events
    assert event.type == "PaymentSucceeded"
    assert (event.data.payment_id, event.data.amount) == ("pi_3RkV9aHq2wXyZa0B0cD4eF5g", 5184)
    assert event.data.reference.order_id == "2191"
    assert event.data.customer_email == "katherine.johnson@example.com"
    intent = payload("payment_intent_succeeded")
    intent["id"] = "evt_other"
    intent["data"]["object"]["id"] = "pi_3RkV9aHq2wXyZa0B0cD4eF5g"
    assert parse(raw(intent)).events[0].event_id == event.event_id


@pytest.mark.parametrize(
    ("payment_status", "why"), [("unpaid", "still processing"), ("no_payment_required", "nothing")]
)
def test_an_unpaid_checkout_session_is_ignored(payment_status, why):
    body = payload("checkout_session_completed")
    body["data"]["object"]["payment_status"] = payment_status
    delivery = parse(raw(body))
    assert delivery.events == [] and why in delivery.ignored_reason


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("checkout.session.async_payment_succeeded", "PaymentSucceeded"),
        ("checkout.session.async_payment_failed", "PaymentFailed"),
    ],
)
def test_asynchronous_checkout_payments(event_type, expected):
    body = payload("checkout_session_completed")
    body["type"] = event_type
    assert parse(raw(body)).events[0].type == expected


def test_checkout_session_expired_becomes_checkout_expired():
    (event,) = parse(raw(payload("checkout_session_expired"))).events
    assert event.type == "CheckoutExpired"
    data = event.data
    assert (data.checkout_id, data.total, data.currency, data.completed) == (
        "cs_test_b2Jr3xYzAb1CmN0pQrS5tUv7wXyZa9BcDeFgHiJk",
        2592,
        "USD",
        False,
    )
    assert data.recovery_url == "https://buy.stripe.com/r/test_b2Jr3xYzAb1C"
    assert data.customer_email == "dorothy.vaughan@example.com"


def test_event_types_the_hub_does_not_use_are_ignored():
    delivery = parse(raw({"id": "evt_1", "object": "event", "type": "customer.created", "created": 1, "data": {}}))
    assert delivery.events == [] and "customer.created" in delivery.ignored_reason
    assert delivery.dedupe_key == "stripe:evt_1"


def test_thin_event_notifications_are_ignored():
    thin = {"id": "evt_test_65R9", "object": "v2.core.event", "type": "v1.billing.meter.no_meter_found"}
    delivery = parse(raw({**thin, "created": "2026-11-24T15:12:05.000Z"}))
    assert delivery.events == [] and "v2.core.event" in delivery.ignored_reason


def _without_amount() -> bytes:
    body = payload("payment_intent_succeeded")
    del body["data"]["object"]["amount"]
    return raw(body)


def _decimal_amount() -> bytes:
    body = payload("charge_refunded")
    body["data"]["object"]["amount_refunded"] = "26.00"
    return raw(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{nope", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"object": "event", "type": "payment_intent.succeeded"}', "not a Stripe event: 'id'"),
        (_without_amount(), "not a Stripe payment_intent.succeeded event: 'data.object.amount': Field required"),
        (_decimal_amount(), "'data.object.amount_refunded'"),
        (raw({**payload("charge_refunded"), "created": -62_135_596_801}), "'created'"),
    ],
)
def test_malformed_events_say_what_is_wrong(body, message):
    with pytest.raises(MalformedPayloadError, match=message):
        parse(body)
