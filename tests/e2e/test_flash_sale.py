"""A flash sale of a sharded SKU end to end, through a local stack of this module's own whose
configuration keeps FLASH-E2E in 8 shards (`stock.shards`), with two workers per function: 80 paid
Shopify orders for 20 units from many senders at once reserve exactly 20, the rest go on hold as the
hub holds any order it has no stock for, and the inventory's total is right whenever it is read.

The orders are Shopify `orders/create` webhooks built from events/payloads/shopify_orders_create.json
(shaped as the orders/create example of Shopify's Admin REST API reference, Order resource), paid,
one line of one unit, one buyer each."""

from __future__ import annotations

import functools
import json
import threading
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

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

SKU = "FLASH-E2E"
SHARDS = 8
UNITS = 20
ORDERS = 80
wait_for = functools.partial(waiting.wait_for, seconds=900)


@pytest.fixture(scope="module")
def flash_stack(tmp_path_factory) -> Iterator[LocalStack]:
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["stock"] = {"shards": {SKU: SHARDS}}
    config = tmp_path_factory.mktemp("config") / "flash.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config)), pool_size=2) as running:
        yield running


def order_body(order_id: int) -> bytes:
    body = json.loads((ROOT / "events" / "payloads" / "shopify_orders_create.json").read_text())
    body.update(id=order_id, name=f"#{order_id}", financial_status="paid", total_price="10.00")
    body["line_items"] = [{"id": order_id * 10, "sku": SKU, "quantity": 1, "price": "10.00", "title": SKU}]
    body["email"] = body["customer"]["email"] = f"buyer-{order_id}@example.com"
    return json.dumps(body).encode()


def send(stack: LocalStack, order_id: int) -> int:
    """One buyer's order; a delivery answered 503, or not answered in time, is sent again as Shopify
    retries (a fresh delivery id; the order's own id makes a second acceptance a duplicate)."""
    with httpx.Client(base_url=stack.url, timeout=60) as client:
        for _attempt in range(10):
            delivery = sign_delivery(
                "shopify",
                order_body(order_id),
                topic="orders/create",
                secrets=stack.secrets,
                delivery_id=str(uuid.uuid4()),
                account="ada-goods.myshopify.com",
            )
            try:
                response = client.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
            except httpx.TimeoutException:
                continue
            if response.status_code != 503:
                break
            time.sleep(1)
        assert response.json()["status"] in ("accepted", "duplicate"), response.text
        return response.status_code


def shard_rows(stack: LocalStack, location: str) -> list[dict[str, int]]:
    dynamodb = stack.client("dynamodb")
    table = stack.physical_ids["HubTable"]
    rows = []
    for n in range(SHARDS):
        item = dynamodb.get_item(
            TableName=table,
            Key={"pk": {"S": f"SKU#{SKU}#SHARD#{n:02d}"}, "sk": {"S": f"LOC#{location}"}},
            ConsistentRead=True,
        ).get("Item", {})
        rows.append({k: int(item[k]["N"]) for k in ("available", "reserved") if k in item})
    return rows


@pytest.mark.timeout(2400)
def test_eighty_orders_for_twenty_units_of_a_sharded_sku_reserve_exactly_twenty(flash_stack):
    http = httpx.Client(base_url=flash_stack.url, timeout=30)
    response = http.put(f"/inventory/{SKU}", json={"location": "wh-east", "available": UNITS}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert sum(r["available"] for r in shard_rows(flash_stack, "wh-east")) == UNITS
    share = UNITS // SHARDS  # the units spread evenly: each shard holds its share or one more
    assert all(r["available"] in (share, share + 1) for r in shard_rows(flash_stack, "wh-east"))

    # While the orders go in, every read of the inventory adds up: nothing is made or lost.
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def watch() -> None:
        with httpx.Client(base_url=flash_stack.url, timeout=30) as client:
            while not stop.wait(2.0):
                try:
                    answer = client.get(f"/inventory/{SKU}", headers=AUTH)
                except httpx.TimeoutException:
                    continue
                if answer.status_code == 200:
                    seen.append((answer.json()["available"], answer.json()["reserved"]))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    base = int(time.time() * 1000)
    ids = [base + i for i in range(ORDERS)]
    with ThreadPoolExecutor(max_workers=8) as senders:
        assert set(senders.map(functools.partial(send, flash_stack), ids)) == {200}

    def read(order_id: int) -> dict[str, Any] | None:
        answer = http.get(f"/orders/shopify:{order_id}", headers=AUTH)
        return answer.json() if answer.status_code == 200 else None

    missing = set(ids)

    def recorded() -> bool:
        missing.difference_update([n for n in sorted(missing) if read(n)])
        return not missing

    wait_for(recorded, seconds=2000, what=f"the {ORDERS} orders")
    stop.set()
    watcher.join(timeout=30)

    orders = [read(n) for n in ids]
    held = [o for o in orders if o["status"] == "on_hold"]
    reserved = [o for o in orders if o["status"] != "on_hold"]
    assert len(reserved) == UNITS and len(held) == ORDERS - UNITS
    assert {o["hold_reason"] for o in held} == {"insufficient_stock"}
    assert all(o["reservations"] == [] for o in held)
    assert sum(r["quantity"] for o in reserved for r in o["reservations"]) == UNITS
    level = http.get(f"/inventory/{SKU}", headers=AUTH).json()
    assert level["locations"]["wh-east"] == {"available": 0, "reserved": UNITS}
    rows = shard_rows(flash_stack, "wh-east")
    assert [r["available"] for r in rows] == [0] * SHARDS
    assert sum(r["reserved"] for r in rows) == UNITS
    assert seen and all(available + held_units == UNITS and available >= 0 for available, held_units in seen), seen
    http.close()
