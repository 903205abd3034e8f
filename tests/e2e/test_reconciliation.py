"""Reconciliation end to end, through a local stack of this module's own whose Shopify channel points
at a fake Admin API served here on 127.0.0.1 (tests/stock_fakes.py with tests/order_feed_fakes.py);
the stack reads SHOPIFY_ACCESS_TOKEN from its environment, as a merchant sets it locally.

- an order created while its webhook was never sent appears after `POST /_local/reconcile`;
- an order delivered by webhook is known to the reconciler and applied once;
- a run that finds the API down fails for that channel and loses nothing: a later run finds the order;
- an open-source Magento store, which sends no webhooks, has its orders taken in by its reconciler.

The API's orders are GraphQL Admin 2026-10 Order nodes; the webhook of the delivered order is that
same order as the `orders/create` body Shopify sends (REST field names, shop-local times)."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml
from hub.adapters.feeds.shopify import webhook_order

from commerce_hub.local import LocalStack
from commerce_hub.signing import sign_delivery
from tests.e2e import waiting
from tests.order_feed_fakes import FakeOrderFeed, shopify_order_node
from tests.stock_fakes import STOREFRONT_SECRETS, FakeStorefronts

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

SHOP = "ada-goods.myshopify.com"
wait_for = functools.partial(waiting.wait_for, seconds=180)


@pytest.fixture(scope="module")
def storefronts() -> FakeStorefronts:
    fake = FakeStorefronts()
    fake.feed = FakeOrderFeed(shop=SHOP)
    return fake


@pytest.fixture(scope="module")
def recon_stack(storefronts, tmp_path_factory) -> Iterator[LocalStack]:
    with storefronts.serve() as api_url:
        document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
        document["channels"] = {
            "shopify": {"platform": "shopify", "shop_domain": SHOP, "api_url": api_url},
            # Open-source Magento: no Adobe I/O Events, the reconciler is its intake.
            "magento": {"platform": "magento", "api_url": api_url, "reconcile": {"every_minutes": 1}},
        }
        config = tmp_path_factory.mktemp("config") / "reconcile.yaml"
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        env = _environment(HUB_CONFIG=str(config), **STOREFRONT_SECRETS)
        with LocalStack(ROOT, http_port=0, aws_port=0, env=env, pool_size=1) as running:
            yield running


@pytest.fixture
def http(recon_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=recon_stack.url, timeout=120) as client:
        yield client


def _node(order_id: int, minutes_ago: int) -> dict[str, Any]:
    # Recent: a reconciler's first run lists the changes of the last day.
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return shopify_order_node(
        order_id, created=at, updated=at, lines=[(order_id * 10, "MUG-ENAMEL-WHT", 1, "18.00")], total="18.00"
    )


def _order(http: httpx.Client, order_id: int) -> dict[str, Any] | None:
    response = http.get(f"/orders/shopify:{order_id}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def _reconcile(http: httpx.Client) -> dict[str, Any]:
    response = http.post("/_local/reconcile", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_reconcile_needs_the_token(recon_stack, http):
    assert http.post("/_local/reconcile").status_code == 401


def test_a_missed_order_appears_and_a_delivered_one_is_applied_once(recon_stack, http, storefronts):
    delivered, missed = _node(7001, 20), _node(7002, 10)
    storefronts.feed.put_shopify(delivered)
    storefronts.feed.put_shopify(missed)
    # Only the first order's webhook is sent.
    body = webhook_order(delivered, delivered["lineItems"]["nodes"], "America/New_York")
    signed = sign_delivery(
        "shopify",
        json.dumps(body).encode(),
        topic="orders/create",
        secrets=recon_stack.secrets,
        delivery_id=str(uuid.uuid4()),
        account=SHOP,
    )
    answer = http.post("/webhooks/shopify", content=signed.body, headers=signed.headers)
    assert answer.status_code == 200 and answer.json()["status"] == "accepted", answer.text
    wait_for(lambda: _order(http, 7001), what="the delivered order")
    assert _order(http, 7002) is None

    result = _reconcile(http)
    assert result["shopify"] == {"found": 2, "published": 1, "known": 1}, result

    order = wait_for(lambda: _order(http, 7002), what="the reconciled order")
    assert order["channel"] == "shopify" and order["total"] == "18.00"
    placed = [e for e in _order(http, 7001)["timeline"] if e["type"] == "OrderPlaced"]
    assert len(placed) == 1, placed


def test_an_api_that_is_down_loses_nothing(recon_stack, http, storefronts):
    storefronts.feed.put_shopify(_node(7003, 1))
    storefronts.fail_next, storefronts.fail_status = 1000, 503
    try:
        failed = _reconcile(http)
    finally:
        storefronts.fail_next = 0
    assert "503" in failed["shopify"]["error"] and failed["shopify"]["published"] == 0
    assert _order(http, 7003) is None

    later = _reconcile(http)
    assert later["shopify"]["published"] == 1 and "error" not in later["shopify"], later
    wait_for(lambda: _order(http, 7003), what="the order the failed run missed")


def test_open_source_magento_orders_arrive_through_the_reconciler(recon_stack, http, storefronts):
    """The order is Adobe's `GET /V1/orders/3` example (tests/vendor_samples/adobe_commerce_rest_order_3.json),
    made recent; the fake store checks the OAuth 1.0a signature of every call."""
    order = json.loads((ROOT / "tests" / "vendor_samples" / "adobe_commerce_rest_order_3.json").read_text())
    now = datetime.now(UTC)
    order["entity_id"] = 8001
    order["created_at"] = (now - timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    order["updated_at"] = (now - timedelta(minutes=4)).strftime("%Y-%m-%d %H:%M:%S")
    storefronts.feed.put_magento(order)

    result = _reconcile(http)
    assert result["magento"]["published"] == 1 and "error" not in result["magento"], result
    recorded = wait_for(lambda: _magento_order(http, 8001), what="the Magento order")
    assert recorded["channel"] == "magento" and recorded["total"] == order_total(order)

    again = _reconcile(http)
    assert again["magento"] == {"found": 1, "published": 0, "known": 1}, again


def _magento_order(http: httpx.Client, entity_id: int) -> dict[str, Any] | None:
    response = http.get(f"/orders/magento:{entity_id}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def order_total(order: dict[str, Any]) -> str:
    return f"{order['grand_total']:.2f}"
