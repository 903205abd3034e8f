"""Payments end to end through the local stack: a WooCommerce order and a Stripe payment, in either
order, make one paid order; a refund and a dispute move it as they should."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from commerce_hub.signing import sign_delivery
from tests.e2e.waiting import wait_for

from .conftest import AUTH, ROOT

pytestmark = pytest.mark.e2e

PAYLOADS = ROOT / "events" / "payloads"


def woo_order(order_id: int, sku: str, total: str = "20.00") -> bytes:
    body = json.loads((PAYLOADS / "woocommerce_order_created.json").read_text())
    body.update(id=order_id, number=str(order_id), status="pending", date_paid=None, date_paid_gmt=None,
                total=total, currency="USD", refunds=[])  # fmt: skip
    body["date_modified_gmt"] = "2026-11-27T10:00:00"
    body["line_items"] = [dict(body["line_items"][0], sku=sku, quantity=2, total=total, price=10)]
    return json.dumps(body).encode()


def stripe_event(kind: str, order_id: int, amount: int, **extra: Any) -> bytes:
    name = {"succeeded": "stripe_payment_intent_succeeded.json", "refunded": "stripe_charge_refunded.json"}[kind]
    body = json.loads((PAYLOADS / name).read_text())
    body["id"] = f"evt_{uuid.uuid4().hex[:20]}"
    body["created"] = int(time.time())
    obj = body["data"]["object"]
    obj["metadata"] = {**obj.get("metadata", {}), "order_id": str(order_id), "site_url": "", "channel": "woocommerce"}
    if kind == "succeeded":
        obj.update(id=f"pi_{order_id}", amount=amount, amount_received=amount, currency="usd")
    else:
        obj.update(payment_intent=f"pi_{order_id}", amount=amount, currency="usd", **extra)
    return json.dumps(body).encode()


def send(http, stack, source: str, body: bytes, topic: str | None) -> dict:
    delivery = sign_delivery(source, body, topic=topic, secrets=stack.secrets, url=stack.url)
    response = http.post(f"/webhooks/{source}", content=delivery.body, headers=delivery.headers)
    assert response.status_code == 200, response.text
    return response.json()


def order(http, order_id: str) -> dict | None:
    response = http.get(f"/orders/{order_id}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def status_is(http, order_id: str, expected: str) -> Callable[[], bool]:
    # A paid order with its stock reserved is routed at once: `fulfilling` is paid, and routed.
    accepted = {expected, "fulfilling"} if expected == "paid" else {expected}
    return lambda: (order(http, order_id) or {}).get("status") in accepted


def stock(http, sku: str) -> dict:
    return http.get(f"/inventory/{sku}", headers=AUTH).json()["locations"]["wh-east"]


@pytest.fixture
def sku(http) -> str:
    name = f"WOO-{uuid.uuid4().hex[:6].upper()}"
    http.put(f"/inventory/{name}", json={"location": "wh-east", "available": 10}, headers=AUTH).raise_for_status()
    return name


def test_order_then_payment_makes_it_paid(http, stack, sku):
    number = int(time.time() * 1000) % 10**9
    assert send(http, stack, "woocommerce", woo_order(number, sku), "order.created")["status"] == "accepted"
    oid = f"woocommerce:{number}"
    wait_for(status_is(http, oid, "pending_payment"), what="the order")
    assert send(http, stack, "stripe", stripe_event("succeeded", number, 2000), None)["status"] == "accepted"
    wait_for(status_is(http, oid, "paid"), what="the payment")
    paid = order(http, oid)
    assert [e["type"] for e in paid["timeline"]][:2] == ["OrderPlaced", "PaymentSucceeded"]
    # The Stripe payment that made it paid is listed with the order.
    assert [
        (p["kind"], p["source"], p["reference"], p["amount"], p["currency"], p["status"], p["storefront"])
        for p in paid["payments"]
    ] == [("payment", "stripe", f"pi_{number}", "20.00", "USD", "succeeded", False)]


def test_payment_before_its_order_is_applied_when_the_order_arrives(http, stack, sku):
    number = int(time.time() * 1000) % 10**9 + 7
    send(http, stack, "stripe", stripe_event("succeeded", number, 2000), None)
    time.sleep(1)
    assert order(http, f"woocommerce:{number}") is None
    send(http, stack, "woocommerce", woo_order(number, sku), "order.created")
    wait_for(status_is(http, f"woocommerce:{number}", "paid"), what="the kept payment to apply")


def test_a_full_refund_before_shipment_puts_the_stock_back(http, stack, sku):
    number = int(time.time() * 1000) % 10**9 + 13
    oid = f"woocommerce:{number}"
    send(http, stack, "woocommerce", woo_order(number, sku), "order.created")
    send(http, stack, "stripe", stripe_event("succeeded", number, 2000), None)
    wait_for(status_is(http, oid, "paid"), what="paid")
    assert stock(http, sku) == {"available": 8, "reserved": 2}
    refund = stripe_event(
        "refunded", number, 2000, id=f"ch_{number}", amount_refunded=2000, refunded=True,
        refunds={"object": "list", "data": [{"id": f"re_{number}", "amount": 2000, "status": "succeeded",
                                             "currency": "usd", "payment_intent": f"pi_{number}"}]},
    )  # fmt: skip
    send(http, stack, "stripe", refund, None)
    wait_for(status_is(http, oid, "refunded"), what="refunded")
    assert stock(http, sku) == {"available": 10, "reserved": 0}
