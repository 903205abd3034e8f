"""The first order end to end: a signed Shopify webhook, through the bus and the stock queue, to an
order readable over the admin API with its stock reserved; and every refusal as a JSON error."""

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

SAMPLE = json.loads((ROOT / "events" / "payloads" / "shopify_orders_create.json").read_text())


def order_body(order_id: int, *, lines: list[tuple[str, int]], financial_status: str = "paid") -> bytes:
    body = dict(SAMPLE, id=order_id, financial_status=financial_status)
    body["line_items"] = [
        {"id": order_id * 10 + i, "sku": sku, "quantity": qty, "price": "10.00", "title": sku}
        for i, (sku, qty) in enumerate(lines)
    ]
    body["total_price"] = f"{10 * sum(q for _, q in lines)}.00"
    return json.dumps(body).encode()


def send(
    http: httpx.Client, body: bytes, delivery_id: str | None = None, topic: str = "orders/create"
) -> httpx.Response:
    delivery = sign_delivery("shopify", body, topic=topic, secrets=local_secrets({}), delivery_id=delivery_id)
    return http.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)


def set_level(http: httpx.Client, sku: str, location: str, available: int) -> dict:
    response = http.put(f"/inventory/{sku}", json={"location": location, "available": available}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def read_order(http: httpx.Client, order_id: str) -> dict | None:
    response = http.get(f"/orders/{order_id}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def unique_sku(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:6].upper()}"


def test_a_shopify_order_is_reserved_and_readable(http):
    mug, tee = unique_sku("MUG"), unique_sku("TEE")
    set_level(http, mug, "wh-east", 1)
    set_level(http, mug, "wh-west", 10)
    set_level(http, tee, "wh-east", 3)
    order_number = int(time.time() * 1000)
    response = send(http, order_body(order_number, lines=[(mug, 2), (tee, 1)]))
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"

    order = wait_for(lambda: read_order(http, f"shopify:{order_number}"), what="the order")
    # Paid and reserved, so order_routing may already have moved it on to fulfilment.
    assert order["status"] in ("paid", "fulfilling")
    assert order["channel"] == "shopify"
    assert order["total"] == "30.00"
    assert order["lines"] == [{"sku": mug, "quantity": 2}, {"sku": tee, "quantity": 1}]
    # Recorded once; routing's entry (the order's recording it acted on) may follow already.
    types = [e["type"] for e in order["timeline"]]
    assert types[0] == "OrderPlaced" and types.count("OrderPlaced") == 1
    assert set(types[1:]) <= {"OrderStatusChanged"}
    inventory = http.get(f"/inventory/{mug}", headers=AUTH).json()
    assert inventory["locations"] == {
        "wh-east": {"available": 1, "reserved": 0},
        "wh-west": {"available": 8, "reserved": 2},
    }
    assert (inventory["available"], inventory["reserved"]) == (9, 2)


def queues_idle(stack) -> bool:
    """True once every queue of the stack is empty, nothing in flight."""
    import boto3

    sqs = boto3.client("sqs", endpoint_url=stack.aws_endpoint, region_name="us-east-1")
    for url in sqs.list_queues().get("QueueUrls", []):
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        if "dlq" not in url and any(int(v) for v in attrs.values()):
            return False
    return True


def test_the_same_delivery_twice_reserves_once(http, stack):
    sku = unique_sku("CAP")
    set_level(http, sku, "wh-east", 5)
    order_number = int(time.time() * 1000) + 1
    body = order_body(order_number, lines=[(sku, 2)], financial_status="pending")
    delivery_id = str(uuid.uuid4())
    assert send(http, body, delivery_id).json()["status"] == "accepted"
    assert send(http, body, delivery_id).json()["status"] == "duplicate"
    order = wait_for(lambda: read_order(http, f"shopify:{order_number}"), what="the order")
    assert order["status"] == "pending_payment"
    # A different delivery of the same order (a second subscription, say) is applied once too.
    assert send(http, body).json()["status"] == "accepted"
    wait_for(lambda: queues_idle(stack), what="the stock queue to drain")
    assert http.get(f"/inventory/{sku}", headers=AUTH).json()["locations"]["wh-east"] == {"available": 3, "reserved": 2}


def test_concurrent_orders_never_take_more_than_there_is(http):
    sku = unique_sku("LAMP")
    set_level(http, sku, "wh-east", 3)
    base = int(time.time() * 1000) + 100
    ids = [base + i for i in range(6)]
    for order_number in ids:
        assert send(http, order_body(order_number, lines=[(sku, 1)])).status_code == 200
    orders = [wait_for(lambda n=n: read_order(http, f"shopify:{n}"), what=f"order {n}") for n in ids]
    # The three that got stock are paid, and routed to fulfilment (fulfilling) as soon as order_routing runs.
    statuses = sorted("paid" if o["status"] == "fulfilling" else o["status"] for o in orders)
    assert statuses == ["on_hold"] * 3 + ["paid"] * 3
    assert {o["hold_reason"] for o in orders if o["status"] == "on_hold"} == {"insufficient_stock"}
    level = http.get(f"/inventory/{sku}", headers=AUTH).json()["locations"]["wh-east"]
    assert level == {"available": 0, "reserved": 3}


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "message"),
    [
        ("/webhooks/etsy", b"{}", {}, 404, "unknown webhook source 'etsy'"),
        ("/webhooks/shopify", b"{}", {"X-Shopify-Hmac-Sha256": "bm9wZQ=="}, 401, "does not match"),
        ("/webhooks/shopify", b"{}", {}, 401, "missing X-Shopify-Hmac-Sha256"),
        ("/webhooks/shopify", b"{broken", "sign", 400, "not valid JSON"),
        ("/webhooks/shopify", b"x" * (1024 * 1024 + 10), "sign", 413, "limit is 1048576"),
    ],
)
def test_refusals_are_json_errors(http, path, body, headers, status, message):
    if headers == "sign":
        headers = sign_delivery("shopify", body, topic="orders/create", secrets=local_secrets({})).headers
    response = http.post(path, content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert message in response.json()["error"]
    assert local_secrets({})["SHOPIFY_WEBHOOK_SECRET"] not in response.text


def test_admin_routes_need_the_token(http):
    response = http.get("/orders/shopify:1")
    assert response.status_code == 401
    assert "error" in response.json()
    assert http.get("/orders/shopify:1", headers=AUTH).status_code == 404
