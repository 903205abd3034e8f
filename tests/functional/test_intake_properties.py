"""Whatever arrives at POST /webhooks/{source}: never a 5xx, never an exception, and never an event
on the bus without a valid signature. Hypothesis throws arbitrary bodies, headers and signatures
(and mangled real deliveries) at the intake handler for every source, with moto behind it; then
validly signed deliveries whose bodies hold what no vendor sends (amounts such as "1e999", "NaN" or
"", quantities of 10**12, JSON nested thousands deep), which must be a 400 naming what is wrong."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets
from commerce_hub.signing import sign_delivery
from tests.functional.conftest import EVENTS, ROOT

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


@pytest.fixture(scope="module")
def aws(module_aws):
    """One stack for the module: every test here sends the intake deliveries of its own (each signed
    one under a delivery id of its own) and reads back only the answer and the bus tap, so no test
    depends on what another left; the property tests already send 150 deliveries each to one stack."""
    return module_aws


@pytest.fixture
def intake(aws, load_function):
    """A sandbox of its own for each test, on the module's one stack. Shippo's refusal limiter lives
    in the sandbox: shared by the module, the refusals the property tests provoke (10 a minute from
    one caller) made a later test's well-signed Shippo delivery a 429 whenever the module ran
    within a minute."""
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


# ------------------------------------------------------------------------------------------------
# Signed deliveries with bad shapes. Past the signature, whatever the body holds must be answered
# 200 or a 4xx with a JSON error, never a 5xx: a 503 is for a delivery the hub could not make
# durable, and a vendor retries it for days. The bodies are the samples in events/ (one at least per
# source), signed again as each vendor signs, with one value replaced by a shape vendors do not send.
SECRETS = local_secrets({}, local_signing_keys(ROOT))
SIGNED_SAMPLES = {
    p.stem.removeprefix("webhook_intake_"): json.loads(p.read_text())
    for p in sorted(EVENTS.glob("webhook_intake_*.json"))
    if not p.stem.endswith(("_ping", "_challenge"))
}
FUZZ = "__hub_fuzz__"
BAD_VALUES = [
    "1e999",
    "-1e999",
    "1E+400",
    "NaN",
    "Infinity",
    "-Infinity",
    "",
    " ",
    "9" * 5000,
    10**12,
    -(10**12),
    10**40,
]
# Written into the JSON text as they are: numbers Python reads as inf, nan or a huge Decimal, too many
# digits for an int, nesting deeper than any vendor's (deep enough for the parser to give up, too).
RAW_VALUES = ["1e999", "-1e999", "1E+400", "NaN", "Infinity", "1" + "0" * 5000,
              "[" * 65 + "]" * 65, "[" * 3000 + "]" * 3000, '{"a": ' * 200 + "1" + "}" * 200]  # fmt: skip


def paths(node, prefix=()) -> list[tuple]:
    found = [prefix] if prefix else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        found.extend(paths(child, (*prefix, key)))
    return found


def replaced(document, path: tuple, value):
    copy = json.loads(json.dumps(document))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def signed_event(name: str, body: bytes, delivery_id: str) -> dict:
    """The sample's API Gateway event with `body`, signed now as its vendor would sign it."""
    sample = SIGNED_SAMPLES[name]
    source = sample["pathParameters"]["source"]
    headers = {k.lower(): v for k, v in sample["headers"].items()}
    topic = headers.get("x-shopify-topic") or headers.get("x-wc-webhook-topic")
    account = headers.get("x-shopify-shop-domain")
    delivery = sign_delivery(source, body, topic=topic, secrets=SECRETS, delivery_id=delivery_id, account=account)
    headers.update({k.lower(): v for k, v in delivery.headers.items()})
    event = api_event(source, headers, body, False)
    event["body"] = body.decode()
    params = {**(sample.get("queryStringParameters") or {}), **delivery.params}
    if params:
        event["queryStringParameters"] = params
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in params.items())
    return event


def answer(intake, context, event: dict) -> tuple[int, dict]:
    response = intake.lambda_handler(event, context)
    assert response["statusCode"] < 500, response
    body = json.loads(response["body"])
    if response["statusCode"] >= 400:
        assert body["error"], body
    else:
        assert body["status"] in ("accepted", "duplicate", "ignored"), body
    return response["statusCode"], body


def test_every_sample_still_verifies_when_signed_again(aws, intake, context):
    """Guards the test below: a sample that no longer verifies would only ever test the 401 path."""
    for name, sample in SIGNED_SAMPLES.items():
        raw = base64.b64decode(sample["body"]) if sample.get("isBase64Encoded") else sample["body"].encode()
        status, body = answer(intake, context, signed_event(name, raw, f"verify-{name}"))
        assert status == 200, (name, body)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(name=st.sampled_from(sorted(SIGNED_SAMPLES)), data=st.data())
def test_signed_deliveries_with_bad_values_never_get_a_5xx(aws, intake, context, name, data):
    sample = SIGNED_SAMPLES[name]
    raw = base64.b64decode(sample["body"]) if sample.get("isBase64Encoded") else sample["body"].encode()
    document = json.loads(raw)
    path = data.draw(st.sampled_from(paths(document) or [("extra",)]), label="path")
    if data.draw(st.booleans(), label="raw"):
        text = json.dumps(replaced(document, path, FUZZ)).replace(f'"{FUZZ}"', data.draw(st.sampled_from(RAW_VALUES)))
    else:
        text = json.dumps(replaced(document, path, data.draw(st.sampled_from(BAD_VALUES))))
    answer(intake, context, signed_event(name, text.encode(), f"fuzz-{uuid.uuid4()}"))


# Bad values where each source reads them: a 400 whose error names the field. The samples are the
# events/ ones named; the values are shapes no vendor sends.
NAMED: list[tuple[str, tuple, object, str]] = [
    ("shopify_orders_create", ("line_items", 0, "quantity"), 10**12, "quantity"),
    ("shopify_orders_create", ("total_price",), "1e999", "'total_price'"),
    ("shopify_orders_create", ("total_price",), "", "'total_price'"),
    ("shopify_orders_create", ("line_items", 0, "price"), "NaN", "'line_items.0.price'"),
    ("shopify_refunds_create", ("transactions", 0, "amount"), "", "'transactions.0.amount'"),
    ("shopify_refunds_create", ("refund_line_items", 0, "quantity"), 10**12, "quantity"),
    ("shopify_inventory_levels_update", ("available",), 10**12, "available"),
    ("woocommerce_order_created", ("total",), "1e999", "total"),
    ("woocommerce_order_created", ("total",), "NaN", "total"),
    ("woocommerce_order_created", ("line_items", 0, "quantity"), 10**12, "quantity"),
    ("magento_sales_order_place_after", ("data", "value", "grand_total"), "NaN", "'data.value.grand_total'"),
    ("magento_sales_order_place_after", ("data", "value", "grand_total"), "1e999", "'data.value.grand_total'"),
    ("magento_sales_order_place_after", ("data", "value", "items", 0, "qty_ordered"), "1000000000000", "qty_ordered"),
    ("magento_sales_order_invoice_pay", ("data", "value", "grand_total"), "", "'data.value.grand_total'"),
    ("stripe_payment_intent_succeeded", ("data", "object", "amount"), "1e999", "'data.object.amount'"),
    ("paypal_payment_capture_completed", ("resource", "amount", "value"), "Infinity", "'resource.amount.value'"),
    ("paypal_payment_capture_completed", ("resource", "amount", "value"), "", "'resource.amount.value'"),
    ("paypal_payment_capture_completed", ("resource", "amount", "value"), "1e999", "'resource.amount.value'"),
    ("square_payment_updated", ("data", "object", "payment", "amount_money", "amount"), "NaN", "amount_money.amount"),
    ("square_inventory_count_updated", ("data", "object", "inventory_counts", 0, "quantity"), "1e999999999",
     "'data.object.inventory_counts.0.quantity'"),
    ("bigcommerce_store_order_created", ("created_at",), "NaN", "'created_at'"),
    ("easypost_tracker_updated", ("id",), 10**12, "'id'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "path", "value", "field"), NAMED, ids=[f"{n}:{p[-1]}={v!r:.12}" for n, p, v, _ in NAMED]
)
def test_a_bad_value_where_the_hub_reads_it_is_a_400_naming_the_field(
    aws, bus_tap, intake, context, name, path, value, field
):
    document = json.loads(SIGNED_SAMPLES[name]["body"])
    body = json.dumps(replaced(document, path, value)).encode()
    status, answered = answer(intake, context, signed_event(name, body, f"named-{uuid.uuid4()}"))
    assert status == 400, answered
    assert field in answered["error"], answered
    assert bus_tap.events() == []


@pytest.mark.parametrize("name", sorted(SIGNED_SAMPLES))
@pytest.mark.parametrize("depth", [65, 5000])
def test_json_nested_too_deep_is_a_400_for_every_source(aws, bus_tap, intake, context, name, depth):
    raw = SIGNED_SAMPLES[name]["body"]
    body = (raw.rstrip()[:-1] + ', "nested": ' + "[" * depth + "]" * depth + "}").encode()
    status, answered = answer(intake, context, signed_event(name, body, f"deep-{uuid.uuid4()}"))
    assert status == 400 and "nested more than 64 levels deep" in answered["error"], answered
    assert bus_tap.events() == []
