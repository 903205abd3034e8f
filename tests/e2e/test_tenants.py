"""Secrets and tenants end to end, through a local stack of this module's own.

Its configuration has two Shopify stores, each naming its own secret (the EU store's mid-rotation, a
JSON array of old and new), and the WooCommerce channel's secret is one as WooCommerce generates
them (wp_generate_password(50, true, true)): commas, spaces, brackets, quotes and '&'. Order bodies
are the project's Shopify and WooCommerce samples (events/payloads, after the examples of Shopify's
webhook reference and WooCommerce's REST API docs) with ids and SKUs made unique to the run.
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
from commerce_hub.signing import sign_delivery
from tests.e2e.waiting import wait_for

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

PAYLOADS = ROOT / "events" / "payloads"
EU, US = "ada-goods-eu.myshopify.com", "ada-goods-us.myshopify.com"
EU_OLD, EU_NEW, US_SECRET = "shpss_eu_old", "shpss_eu_new, after rotation", "shpss_us_store"
WOO_SECRET = "x7,Q a]b{\"c'd&e=f,g<h>`i ~j|k;l:m/n?o.p+q-r_s!t@u#v$w% "


@pytest.fixture(scope="module")
def tenant_stack(tmp_path_factory) -> Iterator[LocalStack]:
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["channels"] = {
        "shopify-eu": {"platform": "shopify", "shop_domain": EU, "webhook_secret": "SHOPIFY_WEBHOOK_SECRET_EU"},
        "shopify-us": {"platform": "shopify", "shop_domain": US, "webhook_secret": "SHOPIFY_WEBHOOK_SECRET_US"},
    }
    config = tmp_path_factory.mktemp("config") / "tenants.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    env = _environment(
        HUB_CONFIG=str(config),
        SHOPIFY_WEBHOOK_SECRET_EU=json.dumps([EU_OLD, EU_NEW]),
        SHOPIFY_WEBHOOK_SECRET_US=US_SECRET,
        WOOCOMMERCE_WEBHOOK_SECRET=WOO_SECRET,
    )
    with LocalStack(ROOT, http_port=0, aws_port=0, env=env) as running:
        yield running


@pytest.fixture
def http(tenant_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=tenant_stack.url, timeout=30) as client:
        yield client


def unique() -> int:
    return int(time.time() * 1000) % 10**9 + uuid.uuid4().int % 1000


def set_level(http: httpx.Client, sku: str, available: int) -> None:
    response = http.put(f"/inventory/{sku}", json={"location": "wh-east", "available": available}, headers=AUTH)
    assert response.status_code == 200, response.text


def read_order(http: httpx.Client, order_id: str) -> dict | None:
    response = http.get(f"/orders/{order_id}", headers=AUTH)
    return response.json() if response.status_code == 200 else None


def shopify_order(order_id: int, sku: str, financial_status: str = "pending") -> bytes:
    body = json.loads((PAYLOADS / "shopify_orders_create.json").read_text())
    body.update(id=order_id, name=f"#{order_id}", financial_status=financial_status, cancelled_at=None)
    body["line_items"] = [{"id": order_id * 10, "sku": sku, "quantity": 1, "price": "10.00", "title": sku}]
    body["total_price"] = "10.00"
    return json.dumps(body).encode()


def post_shopify(http, body: bytes, *, shop: str, secret: str, topic: str = "orders/create") -> httpx.Response:
    delivery = sign_delivery("shopify", body, topic=topic, secrets={"SHOPIFY_WEBHOOK_SECRET": secret}, account=shop)
    return http.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)


# ------------------------------------------------------------------------------ secrets as given
def test_a_woocommerce_secret_with_commas_spaces_and_quotes_verifies(tenant_stack, http):
    assert tenant_stack.secrets["WOOCOMMERCE_WEBHOOK_SECRET"] == WOO_SECRET  # stored whole, never split
    order_id, sku = unique(), f"WOO-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 3)
    body = json.loads((PAYLOADS / "woocommerce_order_created.json").read_text())
    body.update(id=order_id, number=str(order_id))
    body["line_items"] = [dict(body["line_items"][0], sku=sku, quantity=1)]
    raw = json.dumps(body).encode()
    # Signed as `commerce-hub send` signs: with the stack's own secret document.
    delivery = sign_delivery("woocommerce", raw, topic="order.created", secrets=tenant_stack.secrets, delivery_id="w1")
    response = http.post("/webhooks/woocommerce", content=delivery.body, headers=delivery.headers)
    assert (response.status_code, response.json()["status"]) == (200, "accepted"), response.text
    order = wait_for(lambda: read_order(http, f"woocommerce:{order_id}"), what="the WooCommerce order")
    assert order["lines"] == [{"sku": sku, "quantity": 1}]

    # What the old comma rule accepted: the part before the first comma is not the secret.
    part = sign_delivery("woocommerce", raw, topic="order.created", secrets={"WOOCOMMERCE_WEBHOOK_SECRET": "x7"})
    refused = http.post("/webhooks/woocommerce", content=part.body, headers=part.headers)
    assert refused.status_code == 401
    assert WOO_SECRET not in refused.text and "x7,Q" not in refused.text


@pytest.mark.parametrize("secret", [EU_OLD, EU_NEW])
def test_during_a_rotation_the_old_and_the_new_secret_both_verify(http, secret):
    sku = f"ROT-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 2)
    response = post_shopify(http, shopify_order(unique(), sku), shop=EU, secret=secret)
    assert (response.status_code, response.json()["status"]) == (200, "accepted"), response.text


# ------------------------------------------------------------------------------ which store sent it
def test_one_stores_secret_does_not_verify_a_delivery_claiming_the_other(http):
    order_id, sku = unique(), f"TEN-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 2)
    forged = post_shopify(http, shopify_order(order_id, sku), shop=EU, secret=US_SECRET)
    assert forged.status_code == 401
    assert "SHOPIFY_WEBHOOK_SECRET_EU" in forged.json()["error"] and US_SECRET not in forged.text
    stranger = post_shopify(http, shopify_order(order_id, sku), shop="stranger.myshopify.com", secret=US_SECRET)
    assert stranger.status_code == 401
    # The same body, from the store it claims, with its own secret, is recorded under its channel.
    own = post_shopify(http, shopify_order(order_id, sku), shop=US, secret=US_SECRET)
    assert own.status_code == 200, own.text
    order = wait_for(lambda: read_order(http, f"shopify-us:{order_id}"), what="the US store's order")
    assert order["channel"] == "shopify-us"
    assert read_order(http, f"shopify-eu:{order_id}") is None


def test_shop_redact_claiming_another_shop_is_refused(http):
    order_id, sku = unique(), f"RED-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 2)
    assert post_shopify(http, shopify_order(order_id, sku), shop=US, secret=US_SECRET).status_code == 200
    wait_for(lambda: read_order(http, f"shopify-us:{order_id}"), what="the US store's order")
    # The EU store's own secret, a delivery as the EU shop, a body that asks to erase the US shop.
    body = json.dumps({"shop_id": 60412345678, "shop_domain": US}).encode()
    response = post_shopify(http, body, shop=EU, secret=EU_NEW, topic="shop/redact")
    assert response.status_code == 401
    assert f"is for shop '{US}'" in response.json()["error"]
    time.sleep(2)  # had anything been published, the privacy consumer would have run by now
    assert read_order(http, f"shopify-us:{order_id}") is not None


def test_a_body_replayed_under_another_topic_changes_nothing(http):
    order_id, sku = unique(), f"SWP-{uuid.uuid4().hex[:6].upper()}"
    set_level(http, sku, 2)
    body = shopify_order(order_id, sku, financial_status="pending")
    assert post_shopify(http, body, shop=EU, secret=EU_NEW).status_code == 200
    order = wait_for(lambda: read_order(http, f"shopify-eu:{order_id}"), what="the pending order")
    assert order["status"] == "pending_payment"
    for topic in ("orders/paid", "orders/cancelled"):
        replayed = post_shopify(http, body, shop=EU, secret=EU_NEW, topic=topic)
        assert replayed.status_code == 400, replayed.text
        assert topic in replayed.json()["error"]
    time.sleep(2)  # had the replay been published, payment_confirmation would have run by now
    after = read_order(http, f"shopify-eu:{order_id}")
    assert after["status"] == "pending_payment"
    assert len(after["timeline"]) == len(order["timeline"])
