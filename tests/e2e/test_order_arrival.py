"""An order's later delivery before its creation, end to end through the local stack.

Shopify documents no delivery order, and WooCommerce queues its deliveries: the first of an order's
deliveries records it in the state it states, and the late creation is on the timeline, not applied.
Bodies: events/payloads/shopify_orders_{paid,create,fulfilled}.json (Shopify's sample order, as its
webhook reference example sends it) and woocommerce_order_{updated,created}.json (the WooCommerce
REST v3 order), each given a fresh order id and SKUs.
"""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from commerce_hub.client import sign_delivery
from commerce_hub.local.secrets import local_secrets
from tests.e2e.waiting import wait_for

from .conftest import AUTH, ROOT

pytestmark = pytest.mark.e2e


def payload(name: str) -> dict:
    return json.loads((ROOT / "events" / "payloads" / f"{name}.json").read_text())


def send(http: httpx.Client, source: str, body: dict, topic: str) -> None:
    delivery = sign_delivery(
        source, json.dumps(body).encode(), topic=topic, secrets=local_secrets({}), delivery_id=str(uuid.uuid4())
    )
    response = http.post(f"/webhooks/{source}", content=delivery.body, headers=delivery.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted", response.text


def set_level(http: httpx.Client, sku: str, available: int) -> None:
    response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": available}, headers=AUTH)
    assert response.status_code == 200, response.text


def read_order(http: httpx.Client, order_id: str) -> dict | None:
    response = http.get(f"/orders/{order_id}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def late_placement(http: httpx.Client, order_id: str) -> dict | None:
    order = read_order(http, order_id)
    if order is None:
        return None
    late = [e for e in order["timeline"] if e["type"] == "OrderPlaced" and not e["applied"]]
    return order if late else None


def routed(http: httpx.Client, order_id: str) -> dict | None:
    order = read_order(http, order_id)
    return order if order and order["fulfilments"] else None


def test_shopify_orders_paid_before_orders_create(http):
    order_number = int(time.time() * 1000)
    sku = f"MUG-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 10)
    body = payload("shopify_orders_paid")
    body.update(id=order_number, total_price="36.00")
    body["line_items"] = [dict(body["line_items"][0], id=order_number * 10, sku=sku, quantity=2, price="18.00")]
    order_id = f"shopify:{order_number}"

    send(http, "shopify", body, "orders/paid")
    wait_for(lambda: read_order(http, order_id), what="the order recorded from orders/paid")
    created = dict(body, updated_at=body["created_at"])
    send(http, "shopify", created, "orders/create")

    order = wait_for(lambda: late_placement(http, order_id), what="the late orders/create on the timeline")
    order = wait_for(lambda: routed(http, order_id), what="the order routed")
    assert order["status"] in ("fulfilling", "shipped")  # paid, reserved and routed; never pending_payment
    placements = [(e["applied"], e["summary"]) for e in order["timeline"] if e["type"] == "OrderPlaced"]
    assert [applied for applied, _ in placements] == [True, False]
    assert "already recorded from orders/paid" in placements[1][1]
    inventory = http.get(f"/inventory/{sku}", headers=AUTH).json()
    assert inventory["available"] == 8  # taken once
    # The storefront's statement that it is paid is listed with the order's payments.
    assert [(p["kind"], p["source"], p["amount"], p["currency"], p["storefront"]) for p in order["payments"]] == [
        ("payment", "shopify", "36.00", "USD", True)
    ]


def test_woocommerce_order_updated_before_order_created(http):
    order_id_number = int(time.time() * 1000) % 10**9
    sku = f"TOTE-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 10)
    updated = payload("woocommerce_order_updated")
    updated.update(id=order_id_number, number=str(order_id_number), refunds=[], total="55.79")
    updated["line_items"] = [dict(updated["line_items"][0], sku=sku, quantity=2, price=24, total="48.00")]
    created = payload("woocommerce_order_created")
    created.update(id=order_id_number, number=str(order_id_number), total="55.79")
    created["line_items"] = updated["line_items"]
    order_id = f"woocommerce:{order_id_number}"

    send(http, "woocommerce", updated, "order.updated")
    wait_for(lambda: read_order(http, order_id), what="the order recorded from order.updated")
    send(http, "woocommerce", created, "order.created")

    order = wait_for(lambda: late_placement(http, order_id), what="the late order.created on the timeline")
    order = wait_for(lambda: routed(http, order_id), what="the order routed")
    assert order["status"] in ("fulfilling", "shipped")
    placements = [(e["applied"], e["summary"]) for e in order["timeline"] if e["type"] == "OrderPlaced"]
    assert [applied for applied, _ in placements] == [True, False]
    assert "already recorded from order.updated" in placements[1][1]
    assert http.get(f"/inventory/{sku}", headers=AUTH).json()["available"] == 8
    assert [p["storefront"] for p in order["payments"]] == [True]


def shipped(http: httpx.Client, order_id: str) -> dict | None:
    order = read_order(http, order_id)
    return order if order and order["status"] == "shipped" else None


def test_shopify_orders_fulfilled_first_is_shipped_by_the_storefront_and_never_routed(http):
    # The placement and the OrderFulfilled leave intake in one PutEvents; whichever reaches its
    # consumer first, the hub plans no fulfilment of its own for what the storefront shipped.
    order_number = int(time.time() * 1000)
    sku = f"MUG-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 10)
    body = payload("shopify_orders_fulfilled")
    body.update(id=order_number, total_price="36.00")
    line = dict(body["line_items"][0], id=order_number * 10, sku=sku, quantity=2, price="18.00")
    body["line_items"] = [line]
    body["fulfillments"] = [
        dict(body["fulfillments"][0], id=order_number * 7, order_id=order_number, line_items=[line])
    ]
    order_id = f"shopify:{order_number}"

    send(http, "shopify", body, "orders/fulfilled")
    order = wait_for(lambda: shipped(http, order_id), what="the order shipped by the storefront")
    assert [(f["shipped_by"], f["status"]) for f in order["fulfilments"]] == [("shopify", "shipped")]
    assert order["fulfilments"][0]["tracking_number"] == body["fulfillments"][0]["tracking_number"]
    inventory = http.get(f"/inventory/{sku}", headers=AUTH).json()
    assert (inventory["available"], inventory["reserved"]) == (8, 0)  # taken once, and gone with the parcel


def test_woocommerce_completed_first_is_shipped_by_the_storefront_and_never_routed(http):
    order_id_number = int(time.time() * 1000) % 10**9
    sku = f"TOTE-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 10)
    updated = payload("woocommerce_order_updated")
    updated.update(id=order_id_number, number=str(order_id_number), refunds=[], total="55.79", status="completed")
    updated["line_items"] = [dict(updated["line_items"][0], sku=sku, quantity=2, price=24, total="48.00")]
    order_id = f"woocommerce:{order_id_number}"

    send(http, "woocommerce", updated, "order.updated")
    order = wait_for(lambda: shipped(http, order_id), what="the completed order shipped by the storefront")
    assert [(f["shipped_by"], f["status"]) for f in order["fulfilments"]] == [("woocommerce", "shipped")]
    assert http.get(f"/inventory/{sku}", headers=AUTH).json()["reserved"] == 0
