"""The order lifecycle end to end through the local stack, from a storefront order and a gateway
payment to `shipped` with the storefront written back, then `delivered` from the carrier.

A stack of this module's own is configured with EasyPost as the carrier and a WooCommerce channel,
both pointing (`api_url`) at small fakes served here on 127.0.0.1; their credentials are put in the
stack's secret, as in AWS. The session stack (no carrier) shows the manual path: a fulfilment
waiting for a label is shipped with `commerce-hub ship`, and delivered by Shippo's tracking webhook.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import yaml

from commerce_hub.cli import main as cli
from commerce_hub.local import LocalStack
from commerce_hub.signing import sign_delivery
from tests.e2e.waiting import wait_for
from tests.fulfilment_apis import EASYPOST_KEY, WOO_KEY, WOO_SECRET, FakeApis, easypost_carrier
from tests.shopify_fake import FakeShopifyOrders
from tests.stock_fakes import SHOPIFY_TOKEN, FakeStorefronts

from .conftest import API_TOKEN, AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

PAYLOADS = ROOT / "events" / "payloads"


def send(http: httpx.Client, stack: LocalStack, source: str, body: bytes, topic: str | None = None) -> dict:
    delivery = sign_delivery(source, body, topic=topic, secrets=stack.secrets, url=stack.url)
    response = http.post(
        f"/webhooks/{source}", content=delivery.body, headers=delivery.headers, params=delivery.params or None
    )
    assert response.status_code == 200, response.text
    return response.json()


def read(http: httpx.Client, order_id: str) -> dict:
    response = http.get(f"/orders/{order_id}", headers=AUTH)
    return response.json() if response.status_code == 200 else {}


def stock_of(http: httpx.Client, sku: str, available: int = 10) -> str:
    response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": available}, headers=AUTH)
    assert response.status_code == 200, response.text
    return sku


def number() -> int:
    return int(time.time() * 1000) % 10**9


# ------------------------------------------------------------------------- carrier and write-back
@pytest.fixture(scope="module")
def apis() -> FakeApis:
    shopify = FakeStorefronts()
    shopify.orders = FakeShopifyOrders()
    return FakeApis(shopify=shopify)


@pytest.fixture(scope="module")
def carrier_stack(apis, tmp_path_factory) -> Iterator[LocalStack]:
    with apis.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document.setdefault("channels", {})["woocommerce"] = {
            "platform": "woocommerce",
            "site_url": "https://shop.example.com",
            "api_url": api_url,
        }
        document["channels"]["shopify"] = {
            "platform": "shopify",
            "shop_domain": "ada-goods.myshopify.com",
            "api_url": api_url,
            "locations": {"71234567890": "wh-east", "71234567891": "wh-west"},
        }
        document["carrier"] = easypost_carrier(api_url)
        config = tmp_path_factory.mktemp("config") / "fulfilment.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
            running.put_secrets(
                {
                    **running.secrets,
                    "EASYPOST_API_KEY": EASYPOST_KEY,
                    "WOOCOMMERCE_CONSUMER_KEY": WOO_KEY,
                    "WOOCOMMERCE_CONSUMER_SECRET": WOO_SECRET,
                    "SHOPIFY_ACCESS_TOKEN": SHOPIFY_TOKEN,
                }
            )
            yield running


@pytest.fixture
def carrier_http(carrier_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=carrier_stack.url, timeout=30) as client:
        yield client


def woo_order(order_id: int, sku: str) -> bytes:
    body = json.loads((PAYLOADS / "woocommerce_order_created.json").read_text())
    body.update(id=order_id, number=str(order_id), status="pending", date_paid=None, date_paid_gmt=None,
                total="20.00", currency="USD", refunds=[])  # fmt: skip
    body["date_modified_gmt"] = "2026-11-27T10:00:00"
    body["line_items"] = [dict(body["line_items"][0], sku=sku, quantity=2, total="20.00", price=10)]
    return json.dumps(body).encode()


def stripe_paid(order_id: int, amount: int) -> bytes:
    body = json.loads((PAYLOADS / "stripe_payment_intent_succeeded.json").read_text())
    body["id"] = f"evt_{uuid.uuid4().hex[:20]}"
    body["created"] = int(time.time())
    intent = body["data"]["object"]
    intent["metadata"] = {
        **intent.get("metadata", {}),
        "order_id": str(order_id),
        "site_url": "",
        "channel": "woocommerce",
    }
    intent.update(id=f"pi_{order_id}", amount=amount, amount_received=amount, currency="usd")
    return json.dumps(body).encode()


def easypost_delivered(tracking_code: str) -> bytes:
    body = json.loads((PAYLOADS / "easypost_tracker_updated.json").read_text())
    body["id"] = f"evt_{uuid.uuid4().hex}"
    body["result"].update(tracking_code=tracking_code, status="delivered", id=f"trk_{uuid.uuid4().hex[:12]}")
    return json.dumps(body).encode()


def test_a_woocommerce_order_paid_with_stripe_is_labelled_shipped_written_back_and_delivered(
    carrier_stack, carrier_http, apis
):
    http, oid = carrier_http, number()
    sku = stock_of(http, f"LAMP-{uuid.uuid4().hex[:6].upper()}")
    assert send(http, carrier_stack, "woocommerce", woo_order(oid, sku), "order.created")["status"] == "accepted"
    order_id = f"woocommerce:{oid}"
    wait_for(lambda: read(http, order_id).get("status") == "pending_payment", what="the unpaid order")
    assert send(http, carrier_stack, "stripe", stripe_paid(oid, 2000))["status"] == "accepted"

    shipped = wait_for(lambda: (o := read(http, order_id)).get("status") == "shipped" and o, what="shipped")
    (fulfilment,) = shipped["fulfilments"]
    assert (fulfilment["location"], fulfilment["carrier"], fulfilment["service"]) == ("wh-east", "USPS", "Priority")
    assert fulfilment["label_url"].endswith(".pdf") and fulfilment["tracking_number"].startswith("9400E2E")
    assert http.get(f"/inventory/{sku}", headers=AUTH).json()["locations"]["wh-east"] == {"available": 8, "reserved": 0}

    # The carrier: one shipment to the order's address, one label at the cheapest rate within 3 days.
    (create,) = [r for r in apis.seen("POST", "/v2/shipments") if r.path == "/v2/shipments"]
    assert create.body["shipment"]["to_address"]["street1"] == "418 Alder Street"
    assert create.body["shipment"]["reference"] == fulfilment["fulfilment_id"]
    assert create.headers["idempotency-key"] == f"{fulfilment['fulfilment_id']}-shipment"
    shipment_id = fulfilment["label_url"].rsplit("/", 1)[-1].removesuffix(".pdf")
    assert [r.body for r in apis.seen("POST", f"/v2/shipments/{shipment_id}/buy")] == [{"rate": {"id": "rate_fast"}}]

    # The storefront: a customer note with the tracking, and the order completed.
    wait_for(lambda: read(http, order_id)["fulfilments"][0]["written_back"], what="the write-back")
    (note,) = apis.notes[str(oid)]
    assert fulfilment["tracking_number"] in note["note"] and note["customer_note"] is True
    assert apis.statuses[str(oid)] == "completed"

    # The carrier's tracking webhook delivers it; a second delivery of the same state changes nothing.
    tracked = easypost_delivered(fulfilment["tracking_number"])
    assert send(http, carrier_stack, "easypost", tracked)["status"] == "accepted"
    delivered = wait_for(lambda: (o := read(http, order_id)).get("status") == "delivered" and o, what="delivered")
    assert send(http, carrier_stack, "easypost", tracked)["status"] == "duplicate"
    types = [e["type"] for e in delivered["timeline"]]
    assert types.count("FulfilmentShipped") == 1 and types.count("FulfilmentWrittenBack") == 1
    assert len([r for r in apis.seen("POST", f"/wp-json/wc/v3/orders/{oid}/notes")]) == 1


def test_a_shopify_order_split_across_two_shopify_locations_is_written_back_once_per_location(
    carrier_stack, carrier_http, apis
):
    """The hub ships both lines from wh-east in one parcel; Shopify had assigned the mug to its east
    location and the tee to its west one, the tee's fulfillment order scheduled. Shapes: Shopify's
    orders/create example (events/payloads/shopify_orders_create.json) and, for the write-back,
    shopify.dev/docs/api/admin-graphql/2026-10 mutations/fulfillmentCreate and fulfillmentOrderOpen."""
    http, oid = carrier_http, number()
    mug = stock_of(http, f"MUG-{uuid.uuid4().hex[:6].upper()}")
    tee = stock_of(http, f"TEE-{uuid.uuid4().hex[:6].upper()}")
    body = json.loads((PAYLOADS / "shopify_orders_create.json").read_text())
    line = body["line_items"][0]
    body.update(id=oid, financial_status="paid", total_price="54.00", currency="USD")
    body["line_items"] = [
        dict(line, id=oid * 10 + 1, sku=mug, quantity=2, price="18.00"),
        dict(line, id=oid * 10 + 2, sku=tee, quantity=1, price="18.00"),
    ]
    orders = apis.shopify.orders
    orders.add(str(oid), f"{oid}1", "71234567890", [(f"{oid}1", str(oid * 10 + 1), mug, 2)])
    orders.add(str(oid), f"{oid}2", "71234567891", [(f"{oid}2", str(oid * 10 + 2), tee, 1)], status="SCHEDULED")
    assert send(http, carrier_stack, "shopify", json.dumps(body).encode(), "orders/create")["status"] == "accepted"
    order_id = f"shopify:{oid}"

    shipped = wait_for(lambda: (o := read(http, order_id)).get("status") == "shipped" and o, what="shipped")
    (fulfilment,) = shipped["fulfilments"]
    assert fulfilment["location"] == "wh-east"
    wait_for(lambda: read(http, order_id)["fulfilments"][0]["written_back"], what="the write-back")

    mine = [(op, v) for op, v in orders.calls if op != "order" and str(oid) in json.dumps(v)]
    tracking = {"company": "USPS", "number": fulfilment["tracking_number"], "url": fulfilment["tracking_url"]}
    assert mine == [
        (
            "fulfillmentCreate",
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{oid}1"}],
                    "trackingInfo": tracking,
                    "notifyCustomer": True,
                }
            },
        ),
        ("fulfillmentOrderOpen", {"id": f"gid://shopify/FulfillmentOrder/{oid}2"}),
        (
            "fulfillmentCreate",
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": f"gid://shopify/FulfillmentOrder/{oid}2"}],
                    "trackingInfo": tracking,
                    "notifyCustomer": True,
                }
            },
        ),
    ]
    made = [f for f in orders.fulfillments if f.order == f"gid://shopify/Order/{oid}"]
    assert [f.location for f in made] == ["gid://shopify/Location/71234567890", "gid://shopify/Location/71234567891"]
    assert {fo.status for fo in orders.fulfillment_orders.values() if fo.order.endswith(f"/{oid}")} == {"CLOSED"}


def test_a_wrongly_signed_tracking_webhook_is_refused(carrier_stack, carrier_http):
    body = easypost_delivered("NOPE")
    response = carrier_http.post(
        "/webhooks/easypost",
        content=body,
        headers={"X-Hmac-Signature": "hmac-sha256-hex=00", "Content-Type": "application/json"},
    )
    assert response.status_code == 401 and "X-Hmac-Signature" in response.json()["error"]


# ---------------------------------------------------------------------------- no carrier configured
def shopify_order(order_id: int, sku: str) -> bytes:
    body = json.loads((PAYLOADS / "shopify_orders_create.json").read_text())
    body.update(id=order_id, financial_status="paid", total_price="36.00", currency="USD")
    body["line_items"] = [dict(body["line_items"][0], sku=sku, quantity=2, price="18.00")]
    return json.dumps(body).encode()


def shippo_delivered(tracking_number: str) -> bytes:
    body = json.loads((PAYLOADS / "shippo_track_updated.json").read_text())
    body["data"]["tracking_number"] = tracking_number
    body["data"]["tracking_status"].update(status="DELIVERED", object_id=uuid.uuid4().hex)
    return json.dumps(body).encode()


def test_without_a_carrier_commerce_hub_ship_ships_it_and_shippo_delivers_it(stack, http, monkeypatch, capsys):
    oid, sku = number(), stock_of(http, f"MUG-{uuid.uuid4().hex[:6].upper()}")
    assert send(http, stack, "shopify", shopify_order(oid, sku), "orders/create")["status"] == "accepted"
    order_id = f"shopify:{oid}"
    waiting = wait_for(lambda: (o := read(http, order_id)).get("status") == "fulfilling" and o, what="fulfilling")
    assert [f["status"] for f in waiting["fulfilments"]] == ["pending"]

    monkeypatch.setenv("HUB_API_TOKEN", API_TOKEN)
    tracking = f"1ZE2E{oid}"
    assert cli(["ship", order_id, "--tracking", tracking, "--carrier", "UPS", "--url", stack.url]) == 0
    assert f"{order_id} is shipped" in capsys.readouterr().out
    assert cli(["ship", order_id, "--tracking", "OTHER", "--carrier", "UPS", "--url", stack.url]) == 1
    assert "every fulfilment has shipped" in capsys.readouterr().err

    response = http.post(
        "/webhooks/shippo", content=shippo_delivered(tracking), params={"token": "wrong"},
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 401
    assert send(http, stack, "shippo", shippo_delivered(tracking))["status"] == "accepted"
    delivered = wait_for(lambda: (o := read(http, order_id)).get("status") == "delivered" and o, what="delivered")
    (fulfilment,) = delivered["fulfilments"]
    assert (fulfilment["status"], fulfilment["shipped_by"], fulfilment["tracking_number"]) == (
        "delivered",
        "admin",
        tracking,
    )
    # The local configuration names no shop domain for Shopify: nothing is written back, and it says so.
    assert not fulfilment["written_back"]
    assert any("not written back" in e["summary"] for e in delivered["timeline"])
