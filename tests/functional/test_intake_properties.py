"""Whatever arrives at POST /webhooks/{source}: never a 5xx, never an exception, and never an event
on the bus without a valid signature. Hypothesis throws arbitrary bodies, headers and signatures
(and mangled real deliveries) at the intake handler for every source, with moto behind it."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functional.conftest import EVENTS

SOURCES = ["shopify", "woocommerce", "bigcommerce", "magento", "stripe", "paypal", "square"]
SIGNATURE_HEADERS = [
    "x-shopify-hmac-sha256",
    "x-shopify-topic",
    "x-shopify-shop-domain",
    "x-shopify-webhook-id",
    "x-wc-webhook-signature",
    "x-wc-webhook-topic",
    "x-wc-webhook-source",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-adobe-digital-signature-1",
    "x-adobe-digital-signature-2",
    "stripe-signature",
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
    "x-square-hmacsha256-signature",
    "content-type",
]
SAMPLES = [json.loads(p.read_text()) for p in sorted(EVENTS.glob("webhook_intake_*.json"))]

header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["v1,AAAA", "t=1,v1=00", "SHA256withRSA", "https://api.paypal.com/v1/notifications/certs/CERT-1",
                     "orders/create", "order.created", "application/json", "application/x-www-form-urlencoded", "0", "-1"]),
)  # fmt: skip
headers = st.dictionaries(
    st.one_of(st.sampled_from(SIGNATURE_HEADERS), st.text(min_size=1, max_size=20)), header_values, max_size=8
)
bodies = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=2048).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
        max_leaves=20,
    ).map(lambda v: json.dumps(v).encode()),
    st.just(b"webhook_id=12"),
)


def api_event(source: str, hdrs: dict[str, str], body: bytes, as_base64: bool) -> dict:
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/{source}",
        "rawPath": f"/webhooks/{source}",
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in hdrs.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "http": {
                "method": "POST",
                "path": f"/webhooks/{source}",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "x",
            },
            "requestId": "r",
            "routeKey": "POST /webhooks/{source}",
            "stage": "$default",
            "time": "27/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795687200000,
        },
        "pathParameters": {"source": source},
        "body": base64.b64encode(body).decode() if as_base64 else body.decode("utf-8", "replace"),
        "isBase64Encoded": as_base64,
    }


@pytest.fixture
def intake(aws, load_function):
    return load_function("webhook_intake")


def check(intake, bus_tap, context, event: dict) -> None:
    response = intake.lambda_handler(event, context)
    assert response["statusCode"] < 500, response
    body = json.loads(response["body"])
    if response["statusCode"] >= 400:
        assert body["error"]
    assert bus_tap.events() == [], "an unsigned or badly signed delivery reached the bus"
    if response["statusCode"] == 200:
        assert body["status"] == "ignored"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(source=st.sampled_from([*SOURCES, "etsy", ""]), hdrs=headers, body=bodies, as_base64=st.booleans())
def test_arbitrary_deliveries_are_refused_cleanly(aws, bus_tap, intake, context, source, hdrs, body, as_base64):
    check(intake, bus_tap, context, api_event(source or "x", hdrs, body, as_base64))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    sample=st.sampled_from(SAMPLES),
    flip=st.integers(min_value=0, max_value=10_000),
    drop=st.sets(st.sampled_from(SIGNATURE_HEADERS), max_size=3),
    swap_source=st.sampled_from([None, *SOURCES]),
)
def test_mangled_real_deliveries_never_publish(aws, bus_tap, intake, context, sample, flip, drop, swap_source):
    """A real signed delivery with one byte changed, signature headers dropped, or sent to another source."""
    event = json.loads(json.dumps(sample))
    raw = base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event.get("body", "").encode()
    if raw:
        mutated = bytearray(raw)
        mutated[flip % len(mutated)] ^= 0x01
        raw = bytes(mutated)
    hdrs = {k: v for k, v in event["headers"].items() if k not in drop}
    source = swap_source or event["pathParameters"]["source"]
    if (
        source == event["pathParameters"]["source"]
        and not drop
        and raw == (base64.b64decode(event["body"]) if event.get("isBase64Encoded") else event.get("body", "").encode())
    ):
        return
    check(intake, bus_tap, context, api_event(source, hdrs, raw, True))
