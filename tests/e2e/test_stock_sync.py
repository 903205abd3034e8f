"""Stock across channels end to end, through a local stack of this module's own, with two workers
per function: its configuration points Shopify, WooCommerce and Magento channels at a fake of their
APIs served here on 127.0.0.1 (tests/stock_fakes.py), whose credentials the stack reads from its
environment. The fake checks them as the stores do (Magento's OAuth 1.0a signature included).

Storefront level webhooks change GET /inventory/{sku} and reach every other channel, never the one
they came from; and 40 orders racing for 10 units through the real handlers reserve exactly 10."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from commerce_hub.signing import sign_delivery
from tests.e2e import waiting
from tests.stock_fakes import STOREFRONT_SECRETS, FakeStorefronts

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

PAYLOADS = ROOT / "events" / "payloads"
WORKERS = 2
BEANIE_ITEM = "44981234567009"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


# Orders here reach every function on a small, busy machine: five minutes unless a test says.
wait_for = functools.partial(waiting.wait_for, seconds=300)


def _config(api_url: str) -> str:
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["channels"] = {
        "shopify": {
            "platform": "shopify",
            "shop_domain": "ada-goods.myshopify.com",
            "api_url": api_url,
            "locations": {"71234567890": "wh-east", "71234567891": "wh-west"},
            "sku_map": {"BEANIE-MER-CHR": {"item_id": BEANIE_ITEM}},
        },
        "woocommerce": {"platform": "woocommerce", "api_url": api_url},
        "magento": {
            "platform": "magento",
            "api_url": api_url,
            "sku_map": {"BEANIE-MER-CHR": {}, "TEE-ORGANIC-L": {}},
        },
    }
    # This fake is the storefronts' stock API, not their orders API: the scheduled reconcilers stay
    # off here (tests/e2e/test_reconciliation.py runs them against order fakes).
    for channel in document["channels"].values():
        channel["reconcile"] = {"every_minutes": 0}
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture(scope="module")
def storefronts() -> FakeStorefronts:
    return FakeStorefronts()


@pytest.fixture(scope="module")
def stock_stack(storefronts, tmp_path_factory) -> Iterator[LocalStack]:
    with storefronts.serve() as api_url:
        config = tmp_path_factory.mktemp("config") / "channels.yaml"
        config.write_text(_config(api_url))
        # The storefront API credentials come from the stack's environment, as a merchant sets them
        # locally (README, "Environment variables"); the stack stores them in its secret, as in AWS.
        env = _environment(HUB_CONFIG=str(config), **STOREFRONT_SECRETS)
        with LocalStack(ROOT, http_port=0, aws_port=0, env=env, pool_size=WORKERS) as running:
            yield running


@pytest.fixture
def http(stock_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stock_stack.url, timeout=30) as client:
        yield client


def post(http: httpx.Client, stack: LocalStack, source: str, body: dict[str, Any], topic: str) -> httpx.Response:
    raw = json.dumps(body).encode()
    account = "ada-goods.myshopify.com" if source == "shopify" else None
    delivery = sign_delivery(
        source, raw, topic=topic, secrets=stack.secrets, delivery_id=str(uuid.uuid4()), account=account
    )
    response = http.post(f"/webhooks/{source}", content=delivery.body, headers=delivery.headers)
    assert response.status_code == 200 and response.json()["status"] == "accepted", response.text
    return response


def inventory(http: httpx.Client, sku: str) -> dict[str, Any] | None:
    response = http.get(f"/inventory/{sku}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def queues_idle(stack: LocalStack, named: str = "") -> bool:
    """True once every queue (whose name contains `named`) is empty, nothing in flight."""
    sqs = stack.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        if named not in url.rsplit("/", 1)[-1]:
            continue
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        if "dlq" not in url and any(int(v) for v in attrs.values()):
            return False
    return True


def test_a_woocommerce_level_webhook_changes_the_inventory_and_reaches_the_other_channels(
    stock_stack, http, storefronts
):
    post(http, stock_stack, "woocommerce", payload("woocommerce_product_updated"), "product.updated")

    level = wait_for(lambda: inventory(http, "BEANIE-MER-CHR"), what="the reported level")
    assert level["locations"]["wh-east"] == {"available": 17, "reserved": 0}

    shopify = wait_for(lambda: storefronts.of("shopify"), what="the push to Shopify")
    (request,) = shopify
    assert request.headers["x-shopify-access-token"] == STOREFRONT_SECRETS["SHOPIFY_ACCESS_TOKEN"]
    assert request.body["variables"]["input"]["quantities"] == [
        {
            "inventoryItemId": f"gid://shopify/InventoryItem/{BEANIE_ITEM}",
            "locationId": "gid://shopify/Location/71234567890",
            "quantity": 17,
            "changeFromQuantity": None,  # never known: null skips Shopify's compare (Admin API 2026-10)
        }
    ]
    assert request.path == "/admin/api/2026-10/graphql.json" and request.body["variables"]["idempotencyKey"]
    magento = wait_for(lambda: storefronts.of("magento"), what="the push to Magento")
    assert magento[0].body == {
        "sourceItems": [{"sku": "BEANIE-MER-CHR", "source_code": "default", "quantity": 17, "status": 1}]
    }
    wait_for(lambda: queues_idle(stock_stack), what="the queues to drain")
    # The level came from WooCommerce: nothing goes back to it.
    assert storefronts.of("woocommerce") == []


def test_a_shopify_level_webhook_sets_a_learned_item_and_is_not_echoed_to_shopify(stock_stack, http, storefronts):
    post(http, stock_stack, "shopify", payload("shopify_products_update"), "products/update")
    wait_for(lambda: queues_idle(stock_stack), what="the product to be learned")
    seen = len(storefronts.of("shopify"))
    body = dict(payload("shopify_inventory_levels_update"), available=31)
    post(http, stock_stack, "shopify", body, "inventory_levels/update")

    level = wait_for(lambda: inventory(http, "TEE-ORGANIC-L"), what="the Shopify level")
    assert level["locations"] == {"wh-east": {"available": 31, "reserved": 0}}

    def tee_pushes() -> list[dict[str, Any]]:
        return [r.body for r in storefronts.of("magento") if "TEE-ORGANIC-L" in json.dumps(r.body)]

    pushed = wait_for(tee_pushes, what="the push to Magento")
    assert pushed == [
        {"sourceItems": [{"sku": "TEE-ORGANIC-L", "source_code": "default", "quantity": 31, "status": 1}]}
    ]
    wait_for(lambda: queues_idle(stock_stack), what="the queues to drain")
    assert len(storefronts.of("shopify")) == seen  # the level came from Shopify
    assert storefronts.of("woocommerce") == []  # WooCommerce's ids for the SKU are not known


def shopify_order(order_id: int, sku: str) -> dict[str, Any]:
    body = payload("shopify_orders_create")
    body.update(id=order_id, name=f"#{order_id}", financial_status="paid", total_price="10.00")
    body["line_items"] = [{"id": order_id * 10, "sku": sku, "quantity": 1, "price": "10.00", "title": sku}]
    return body


# Every order also reaches payments, routing, CRM and reporting: on a small, busy machine that takes a while.
@pytest.mark.timeout(1200)
def test_forty_orders_racing_for_ten_units_reserve_exactly_ten(stock_stack, http):
    sku = f"LAMP-{uuid.uuid4().hex[:6].upper()}"
    response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 10}, headers=AUTH)
    assert response.status_code == 200, response.text
    base = int(time.time() * 1000)
    ids = [base + i for i in range(40)]

    def send(order_id: int) -> int:
        with httpx.Client(base_url=stock_stack.url, timeout=30) as client:
            return post(client, stock_stack, "shopify", shopify_order(order_id, sku), "orders/create").status_code

    with ThreadPoolExecutor(max_workers=8) as senders:
        assert set(senders.map(send, ids)) == {200}

    def read(order_id: int) -> dict[str, Any] | None:
        response = http.get(f"/orders/shopify:{order_id}", headers=AUTH)
        return response.json() if response.status_code == 200 else None

    missing = set(ids)

    def recorded() -> bool:
        missing.difference_update([n for n in sorted(missing) if read(n)])
        return not missing

    wait_for(recorded, seconds=900, what="the 40 orders")
    wait_for(lambda: queues_idle(stock_stack, "-stock-"), seconds=900, what="the stock queue to drain")
    orders = [read(n) for n in ids]
    held = [o for o in orders if o["status"] == "on_hold"]
    reserved = [o for o in orders if o["status"] != "on_hold"]
    assert len(reserved) == 10 and len(held) == 30
    assert {o["hold_reason"] for o in held} == {"insufficient_stock"}
    assert all(o["reservations"] == [] for o in held)
    assert sum(r["quantity"] for o in reserved for r in o["reservations"]) == 10
    level = inventory(http, sku)
    assert level["locations"] == {"wh-east": {"available": 0, "reserved": 10}}
    assert (level["available"], level["reserved"]) == (0, 10)


def dead_letters(stack: LocalStack) -> dict[str, int]:
    """Messages in each dead-letter queue (every one should be empty)."""
    sqs = stack.client("sqs")
    counts = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        if "dlq" in url.rsplit("/", 1)[-1] or "dead" in url.rsplit("/", 1)[-1]:
            attrs = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            counts[url.rsplit("/", 1)[-1]] = sum(int(v) for v in attrs.values())
    return counts


@pytest.mark.timeout(1200)
def test_a_paid_shopify_order_of_150_skus_is_recorded_with_every_sku_reserved(stock_stack, http):
    """More reservations than one DynamoDB transaction holds: recorded whole (in chunks), visible."""
    tag = uuid.uuid4().hex[:4].upper()
    skus = [f"BULK-{tag}-{n:03d}" for n in range(150)]
    for sku in skus:
        response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 6}, headers=AUTH)
        assert response.status_code == 200, response.text
    order_id = int(time.time() * 1000)
    # The Shopify orders/create example (events/payloads/shopify_orders_create.json), paid, 150 lines.
    body = shopify_order(order_id, skus[0])
    body["line_items"] = [
        {"id": order_id * 1000 + n, "sku": sku, "quantity": 1 + n % 4, "price": "10.00", "title": sku}
        for n, sku in enumerate(skus)
    ]
    body["total_price"] = f"{sum(10 * (1 + n % 4) for n in range(150))}.00"
    post(http, stock_stack, "shopify", body, "orders/create")

    def read() -> dict[str, Any] | None:
        response = http.get(f"/orders/shopify:{order_id}", headers=AUTH)
        return response.json() if response.status_code == 200 else None

    order = wait_for(read, seconds=600, what="the 150-SKU order")
    assert order["status"] in ("paid", "fulfilling"), order["status"]
    assert [ln["sku"] for ln in order["lines"]] == skus
    assert len(order["reservations"]) == 150
    for n, sku in enumerate(skus):
        level = inventory(http, sku)
        assert level["locations"]["wh-east"] == {"available": 6 - (1 + n % 4), "reserved": 1 + n % 4}, sku
    wait_for(lambda: queues_idle(stock_stack), seconds=900, what="the queues to drain")
    assert not any(dead_letters(stock_stack).values()), dead_letters(stock_stack)


# 300 orders through every function on a small, busy machine: the wall time is reported by the test.
@pytest.mark.timeout(1800)
def test_three_hundred_orders_racing_for_a_hundred_units_of_one_sku(stock_stack, http):
    """A flash sale: 300 paid orders for one SKU with 100 units, sent at once from several threads,
    the stock_updates function on two workers. Lost races are retried in the function (with jitter,
    within its remaining time), so none reaches a dead-letter queue."""
    started = time.monotonic()
    sku = f"HOT-{uuid.uuid4().hex[:6].upper()}"
    response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": 100}, headers=AUTH)
    assert response.status_code == 200, response.text
    base = int(time.time() * 1000)
    ids = [base + i for i in range(300)]

    def send(order_id: int) -> int:
        # A delivery answered 503 is sent again, as a vendor retries (the emulated intake can time out
        # under this load); a fresh delivery id keeps it clear of the timed-out attempt's idempotency record.
        # A flash sale's buyers are different people: one customer per order.
        order = shopify_order(order_id, sku)
        order["email"] = order["customer"]["email"] = f"buyer-{order_id}@example.com"
        body = json.dumps(order).encode()
        with httpx.Client(base_url=stock_stack.url, timeout=60) as client:
            for _attempt in range(10):
                delivery = sign_delivery(
                    "shopify",
                    body,
                    topic="orders/create",
                    secrets=stock_stack.secrets,
                    delivery_id=str(uuid.uuid4()),
                    account="ada-goods.myshopify.com",
                )
                response = client.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
                if response.status_code != 503:
                    break
                time.sleep(1)
            assert response.json()["status"] in ("accepted", "duplicate"), response.text
            return response.status_code

    with ThreadPoolExecutor(max_workers=8) as senders:
        assert set(senders.map(send, ids)) == {200}
    sent = time.monotonic()

    def read(order_id: int) -> dict[str, Any] | None:
        response = http.get(f"/orders/shopify:{order_id}", headers=AUTH)
        return response.json() if response.status_code == 200 else None

    missing = set(ids)

    def recorded() -> bool:
        missing.difference_update([n for n in sorted(missing) if read(n)])
        return not missing

    wait_for(recorded, seconds=2400, what="the 300 orders")
    recorded_at = time.monotonic()
    wait_for(lambda: queues_idle(stock_stack), seconds=2400, what="the queues to drain")
    orders = [read(n) for n in ids]
    held = [o for o in orders if o["status"] == "on_hold"]
    reserved = [o for o in orders if o["status"] != "on_hold"]
    assert len(reserved) == 100 and len(held) == 200
    assert {o["hold_reason"] for o in held} == {"insufficient_stock"}
    assert sum(r["quantity"] for o in reserved for r in o["reservations"]) == 100
    level = inventory(http, sku)
    assert level["locations"] == {"wh-east": {"available": 0, "reserved": 100}}
    assert not any(dead_letters(stock_stack).values()), dead_letters(stock_stack)
    print(
        f"\n300 racing orders: sent in {sent - started:.0f} s, all recorded after {recorded_at - started:.0f} s, "
        f"every queue drained after {time.monotonic() - started:.0f} s"
    )


def test_a_stock_correction_reaches_shopify_with_the_token_set_in_the_environment(stock_stack, http, storefronts):
    # Only the environment carried the token: the stack put it in its storefronts secret itself.
    assert stock_stack.secrets["SHOPIFY_ACCESS_TOKEN"] == STOREFRONT_SECRETS["SHOPIFY_ACCESS_TOKEN"]
    west = "gid://shopify/Location/71234567891"  # wh-west is sold by Shopify alone in this configuration
    response = http.put("/inventory/BEANIE-MER-CHR", json={"location": "wh-west", "available": 9}, headers=AUTH)
    assert response.status_code == 200, response.text

    def pushed_west() -> list:
        return [
            r for r in storefronts.of("shopify") if r.body["variables"]["input"]["quantities"][0]["locationId"] == west
        ]

    (request,) = wait_for(pushed_west, what="the correction pushed to Shopify")
    assert request.headers["x-shopify-access-token"] == STOREFRONT_SECRETS["SHOPIFY_ACCESS_TOKEN"]
    assert request.body["variables"]["input"]["quantities"][0]["quantity"] == 9
    # Every Magento push of this module was signed, and the fake found nothing to refuse.
    assert storefronts.of("magento") and storefronts.magento.refusals == []
