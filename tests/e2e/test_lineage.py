"""Where is my order? End to end through a local stack of this module's own whose configuration pushes
profiles to HubSpot (the fake of tests/e2e/test_customers.py, on 127.0.0.1): a Shopify order placed
unpaid and delivered twice by the same webhook (one duplicate), then paid, then routed, with its
customer pushed to the CRM, reads back from GET /orders/{id}/lineage in time order with each result.

Payloads: events/payloads/shopify_orders_create.json and shopify_orders_paid.json, shaped after the
orders/create and orders/paid examples of Shopify's webhook reference (shopify.dev).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from tests.e2e.test_customers import HUBSPOT_TOKEN, FakeHubSpot
from tests.e2e.test_storefront_intake import payload, post, read_order, set_level
from tests.e2e.waiting import wait_for

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hubspot() -> FakeHubSpot:
    return FakeHubSpot()


@pytest.fixture(scope="module")
def lineage_stack(hubspot, tmp_path_factory) -> Iterator[LocalStack]:
    with hubspot.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["crm"] = {"provider": "hubspot", "api_url": api_url}
        config = tmp_path_factory.mktemp("config") / "lineage.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        with LocalStack(ROOT, http_port=0, aws_port=0, env=_environment(HUB_CONFIG=str(config))) as running:
            running.put_secrets({**running.secrets, "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN})
            yield running


@pytest.fixture
def http(lineage_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=lineage_stack.url, timeout=30) as client:
        yield client


def shopify(name: str, order_id: int, email: str, financial_status: str) -> bytes:
    body = payload(name)
    body.update(id=order_id, name=f"#{order_id}", order_number=order_id, email=email, financial_status=financial_status)
    body["customer"] = dict(body["customer"], email=email, id=order_id + 1)
    return json.dumps(body).encode()


def read_lineage(http: httpx.Client, order_id: str) -> tuple[int, dict]:
    response = http.get(f"/orders/{order_id}/lineage", headers=AUTH)
    return response.status_code, response.json()


def test_an_unknown_order_has_no_lineage(lineage_stack, http):
    status, body = read_lineage(http, "shopify:1")
    assert status == 404 and "shopify:1" in body["error"]
    assert http.get("/orders/shopify:1/lineage").status_code == 401  # the admin API's token, as for orders


def test_delivered_twice_then_paid_then_routed_with_a_crm_push(lineage_stack, http, hubspot):
    order_number = int(time.time() * 1000) % 10**12
    order_id = f"shopify:{order_number}"
    email = f"lin.{uuid.uuid4().hex[:8]}@example.com"
    for sku in ("MUG-ENAMEL-WHT", "TEE-ORGANIC-L"):
        set_level(http, sku, 50)

    created = shopify("shopify_orders_create", order_number, email, "pending")
    first = post(http, lineage_stack, "shopify", created, topic="orders/create", delivery_id=f"create-{order_number}")
    again = post(http, lineage_stack, "shopify", created, topic="orders/create", delivery_id=f"create-{order_number}")
    assert (first.json()["status"], again.json()["status"]) == ("accepted", "duplicate"), (first.text, again.text)
    wait_for(lambda: read_order(http, order_id), what="the order to be recorded")
    paid = post(
        http,
        lineage_stack,
        "shopify",
        shopify("shopify_orders_paid", order_number, email, "paid"),
        topic="orders/paid",
        delivery_id=f"paid-{order_number}",
    )
    assert paid.json()["status"] == "accepted", paid.text

    def complete() -> list[dict] | None:
        status, body = read_lineage(http, order_id)
        entries = body.get("entries", []) if status == 200 else []
        routed = any(e["step"] == "decision" and e["why"].startswith("routed") for e in entries)
        pushed = any(e["step"] == "call" and e["call"] == "crm_push" and e["result"] == "ok" for e in entries)
        # The paid delivery's snapshot of the order travels on the stock queue, beside the payment.
        snapshot = any(e["step"] == "decision" and e["result"] == "not_applied" for e in entries)
        return entries if routed and pushed and snapshot else None

    entries = wait_for(complete, what="the routing, the snapshot and the CRM push in the order's lineage")
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)

    deliveries = [e for e in entries if e["step"] == "delivery"]
    assert [(d["result"], d["source"], d["via"]) for d in deliveries] == [
        ("accepted", "shopify", "webhook"),
        ("duplicate", "shopify", "webhook"),
        ("accepted", "shopify", "webhook"),
    ]
    assert deliveries[0]["delivery_id"] == deliveries[1]["delivery_id"] != deliveries[2]["delivery_id"]
    assert deliveries[0]["event_ids"] == first.json()["event_ids"]

    def position(check) -> int:
        return next(i for i, e in enumerate(entries) if check(e))

    placed = position(
        lambda e: e["step"] == "decision" and e["event_type"] == "OrderPlaced" and e["result"] == "applied"
    )
    paid_applied = position(lambda e: e["step"] == "decision" and e["event_type"] == "OrderPaid")
    routed = position(lambda e: e["step"] == "decision" and e["why"].startswith("routed"))
    pushed = position(lambda e: e["step"] == "call" and e["call"] == "crm_push" and e["result"] == "ok")
    paid_delivery = entries.index(deliveries[2])
    assert entries.index(deliveries[0]) < placed  # received (before publishing) comes before what it caused
    assert placed < paid_delivery < paid_applied < routed
    assert entries[paid_applied]["result"] == "applied"
    assert entries[pushed]["system"] == "hubspot" and entries[pushed]["reference"] == hubspot.held[email]
    # The paid delivery's snapshot of the order is recorded, not applied: the order was already placed.
    assert any(
        e["step"] == "decision" and e["event_type"] == "OrderPlaced" and e["result"] == "not_applied" for e in entries
    )
    assert email not in json.dumps(entries)
    assert read_order(http, order_id)["status"] == "fulfilling"
