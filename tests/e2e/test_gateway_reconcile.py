"""Reconciling a payment gateway end to end, through a local stack of this module's own whose Stripe
gateway lists its events from a fake of Stripe's API served here on 127.0.0.1
(tests/gateway_api_fakes.py), with the key the stack reads from STRIPE_API_KEY.

A Stripe payment whose webhook never came is found by `POST /_local/reconcile` and makes its order
paid; one the webhook delivered is counted known and applied once; a run that finds the API down
fails with its cursor kept, and the next run finds what was missed. The events are the hub's
`payment_intent.succeeded` sample (events/payloads, shaped as docs.stripe.com/api/events/object),
given ids of their own, exactly as tests/e2e/test_payments.py sends them by webhook."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from tests.e2e import waiting
from tests.e2e.test_payments import order, send, status_is, stripe_event, woo_order
from tests.gateway_api_fakes import GATEWAY_SECRETS, FakeGatewayApis

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

wait_for = functools.partial(waiting.wait_for, seconds=180)


def _config(api_url: str) -> str:
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["channels"] = {"shopify": {"platform": "shopify", "reconcile": {"every_minutes": 0}}}
    document["gateways"] = {
        "stripe": {"channel": "woocommerce", "api_url": api_url},
        "paypal": {"channel": "magento", "reconcile": {"every_minutes": 0}},
        "square": {"channel": "shopify", "reconcile": {"every_minutes": 0}},
    }
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture(scope="module")
def gateways() -> FakeGatewayApis:
    return FakeGatewayApis()


@pytest.fixture(scope="module")
def recon_stack(gateways, tmp_path_factory) -> Iterator[LocalStack]:
    with gateways.serve() as api_url:
        config = tmp_path_factory.mktemp("config") / "gateways.yaml"
        config.write_text(_config(api_url))
        env = _environment(HUB_CONFIG=str(config), STRIPE_API_KEY=GATEWAY_SECRETS["STRIPE_API_KEY"])
        with LocalStack(ROOT, http_port=0, aws_port=0, env=env) as running:
            yield running


@pytest.fixture(scope="module")
def http(recon_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=recon_stack.url, timeout=120) as client:
        yield client


def reconcile(http: httpx.Client) -> dict:
    response = http.post("/_local/reconcile", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def placed(http, recon_stack, number: int, sku: str) -> str:
    assert send(http, recon_stack, "woocommerce", woo_order(number, sku), "order.created")["status"] == "accepted"
    oid = f"woocommerce:{number}"
    wait_for(status_is(http, oid, "pending_payment"), what=f"the order {oid}")
    return oid


def test_a_missed_payment_is_found_and_applied_and_a_delivered_one_is_applied_once(recon_stack, http, gateways):
    sku = f"RECON-{int(time.time())}"
    http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 10}, headers=AUTH).raise_for_status()
    base = int(time.time() * 1000) % 10**8
    missed, delivered = base, base + 1
    missed_id, delivered_id = placed(http, recon_stack, missed, sku), placed(http, recon_stack, delivered, sku)

    # The delivered payment comes by webhook (and is listed by the API); the missed one only by the API.
    delivered_event = json.loads(stripe_event("succeeded", delivered, 2000))
    assert send(http, recon_stack, "stripe", json.dumps(delivered_event).encode(), None)["status"] == "accepted"
    wait_for(status_is(http, delivered_id, "paid"), what="the delivered payment")
    missed_event = json.loads(stripe_event("succeeded", missed, 2000))
    gateways.stripe_events += [delivered_event, missed_event]
    assert (order(http, missed_id) or {}).get("status") == "pending_payment"

    assert reconcile(http)["stripe"] == {"found": 2, "published": 1, "known": 1}
    wait_for(status_is(http, missed_id, "paid"), what="the payment the reconciler found")

    # The API was asked as Stripe documents it, with the key from the stack's environment.
    asked = gateways.of("/v1/events")[-1]
    assert asked.headers["authorization"] == f"Bearer {GATEWAY_SECRETS['STRIPE_API_KEY']}"
    assert "payment_intent.succeeded" in asked.query["types[]"]

    # A second run lists both again (the overlap window) and publishes nothing.
    assert reconcile(http)["stripe"] == {"found": 2, "published": 0, "known": 2}
    time.sleep(2)
    for oid, number in ((missed_id, missed), (delivered_id, delivered)):
        held = order(http, oid)
        assert [p["reference"] for p in held["payments"]] == [f"pi_{number}"], oid
        assert [e["type"] for e in held["timeline"]].count("PaymentSucceeded") == 1, oid


def test_an_api_that_is_down_loses_nothing(recon_stack, http, gateways):
    sku = f"RECON-DOWN-{int(time.time())}"
    http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 10}, headers=AUTH).raise_for_status()
    number = int(time.time() * 1000) % 10**8 + 500
    oid = placed(http, recon_stack, number, sku)
    gateways.stripe_events.append(json.loads(stripe_event("succeeded", number, 2000)))

    gateways.fail_next, gateways.fail_status = 1000, 503
    try:
        failed = reconcile(http)["stripe"]
    finally:
        gateways.fail_next = 0
    assert failed["published"] == 0 and "503" in failed["error"]
    assert (order(http, oid) or {}).get("status") == "pending_payment"

    later = reconcile(http)["stripe"]
    assert later["published"] == 1 and "error" not in later
    wait_for(status_is(http, oid, "paid"), what="the payment listed once the API answered")
