"""Catalog sync end to end with BigCommerce as the master, through a local stack of this module's
own: BigCommerce's API (tests/bigcommerce_api.py, its product shaped on BigCommerce's API
reference) and the Shopify and WooCommerce product APIs (tests/catalog_fakes.py) are fakes served
here on 127.0.0.1.

A signed store/product/updated makes intake read the product with its variants and images (one
request); catalog_sync records it and pushes it to Shopify (productSet) and to a WooCommerce
variable product (its variations' prices). WooCommerce's webhook for that write, which lists
variation ids only, is read with its variations and is the hub's own echo; a variation's price
changed in the WooCommerce admin is drift, shown by GET /catalog/drift and pushed nowhere."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from commerce_hub.signing import sign_delivery
from tests.bigcommerce_api import STORE_HASH, FakeBigCommerce
from tests.catalog_fakes import BIGCOMMERCE_TOKEN, CATALOG_SECRETS, FakeProductApis
from tests.e2e import waiting
from tests.e2e.test_catalog_sync import drift, idle, learned
from tests.functional.test_catalog_sync import SHOP

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

wait_for = functools.partial(waiting.wait_for, seconds=180)
SITE = "https://shop.example.com"
KEY = "bigcommerce:1142"


def _config(api_url: str, bigcommerce_url: str) -> str:
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["channels"] = {
        "bigcommerce": {"platform": "bigcommerce", "store_hash": STORE_HASH, "api_url": bigcommerce_url},
        "shopify": {
            "platform": "shopify",
            "shop_domain": SHOP,
            "api_url": api_url,
            "sku_map": {"DRIP-CER-SLT": {"product_id": "9001"}, "DRIP-CER-CRM": {"product_id": "9001"}},
        },
        "woocommerce": {"platform": "woocommerce", "site_url": SITE, "api_url": api_url},
    }
    for channel in document["channels"].values():
        channel["reconcile"] = {"every_minutes": 0}  # these fakes are product APIs, not order feeds
    document["catalog"] = {"master": "bigcommerce", "currency": "USD", "channels": {"shopify": {}, "woocommerce": {}}}
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture(scope="module")
def stores() -> FakeProductApis:
    fake = FakeProductApis()
    fake.woo_variable(
        812, "Colour", {"DRIP-CER-SLT": ("Slate", "30.00"), "DRIP-CER-CRM": ("Cream", "30.00")}, name="Dripper"
    )
    return fake


@pytest.fixture(scope="module")
def bigcommerce() -> FakeBigCommerce:
    return FakeBigCommerce(token=BIGCOMMERCE_TOKEN)


@pytest.fixture(scope="module")
def masters_stack(stores, bigcommerce, tmp_path_factory) -> Iterator[LocalStack]:
    with stores.serve() as api_url, bigcommerce.serve() as bigcommerce_url:
        config = tmp_path_factory.mktemp("config") / "catalog.yaml"
        config.write_text(_config(api_url, bigcommerce_url))
        env = _environment(HUB_CONFIG=str(config), **CATALOG_SECRETS)
        with LocalStack(ROOT, http_port=0, aws_port=0, env=env) as running:
            yield running


@pytest.fixture
def http(masters_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=masters_stack.url, timeout=30) as client:
        yield client


def post(
    http: httpx.Client, stack: LocalStack, source: str, body: dict[str, Any], topic: str | None, account: str
) -> str:
    raw = json.dumps(body).encode()
    delivery = sign_delivery(
        source, raw, topic=topic, secrets=stack.secrets, delivery_id=str(uuid.uuid4()), account=account
    )
    response = http.post(f"/webhooks/{source}", content=delivery.body, headers=delivery.headers)
    assert response.status_code == 200, response.text
    return response.json()["status"]


def test_a_bigcommerce_master_change_reaches_shopify_and_a_woocommerce_variable_product_whose_drift_is_shown(
    masters_stack, http, stores, bigcommerce
):
    # WooCommerce's webhook for its variable product: read with its variations, it teaches the hub
    # their ids there; the product is in no catalog yet, so it is nobody's drift.
    woo = stores.woo_webhook(812, "2026-11-20T10:00:00")
    assert post(http, masters_stack, "woocommerce", woo, "product.updated", SITE) == "accepted"
    wait_for(lambda: learned(masters_stack, "woocommerce", "DRIP-CER-CRM"), what="the WooCommerce ids learned")
    wait_for(lambda: idle(masters_stack), what="the queues to settle")

    # The master's change: BigCommerce's thin webhook, the product read with variants and images.
    notice = {
        "created_at": int(time.time()),
        "store_id": "1003871",
        "producer": f"stores/{STORE_HASH}",
        "scope": "store/product/updated",
        "hash": "3f1c0e7d9b2a4c1e8f5d6b7a9c0e1f2a3b4c5d6e",
        "data": {"type": "product", "id": 1142},
    }
    assert post(http, masters_stack, "bigcommerce", notice, None, STORE_HASH) == "accepted"
    assert bigcommerce.requests == [f"/stores/{STORE_HASH}/v3/catalog/products/1142?include=variants,images"]
    wait_for(lambda: len(stores.of("woocommerce")) >= 3 and stores.of("shopify"), what="the pushes")
    wait_for(lambda: idle(masters_stack), what="the queues to settle")

    (shopify,) = stores.of("shopify")
    variables = shopify.body["variables"]
    assert variables["identifier"] == {"id": "gid://shopify/Product/9001"}
    assert [o["name"] for o in variables["input"]["productOptions"]] == ["Colour"]
    assert [(v["sku"], v["price"], v["compareAtPrice"]) for v in variables["input"]["variants"]] == [
        ("DRIP-CER-SLT", "34.95", None),
        ("DRIP-CER-CRM", "32.00", "36.50"),
    ]
    _read, put, batch = stores.of("woocommerce")
    assert (put.method, put.path, put.body["name"]) == (
        "PUT",
        "/wp-json/wc/v3/products/812",
        "Ceramic Pour-Over Dripper",
    )
    assert batch.body == {
        "update": [
            {"id": 8120, "regular_price": "34.95", "sale_price": ""},
            {"id": 8121, "regular_price": "36.50", "sale_price": "32.00"},
        ]
    }
    product = http.get("/products/DRIP-CER-CRM", headers=AUTH).json()
    assert (product["product_key"], product["version"], product["published"]) == (KEY, 1, True)

    # WooCommerce's webhook for the hub's own write: read with its variations, an echo, not drift.
    sent = len(stores.requests)
    echo = stores.woo_webhook(812, "2026-11-20T21:41:00")
    assert post(http, masters_stack, "woocommerce", echo, "product.updated", SITE) == "accepted"
    wait_for(lambda: idle(masters_stack), what="the queues to settle")
    assert [r.path for r in stores.requests[sent:]] == ["/wp-json/wc/v3/products/812/variations?per_page=100&page=1"]
    assert drift(http) == []

    # A variation's price changed in the WooCommerce admin: drift, shown, pushed nowhere.
    stores.woo_variations[812][1].update(regular_price="40.00", sale_price="", price="40.00")
    changed = stores.woo_webhook(812, "2026-11-20T22:05:00")
    assert post(http, masters_stack, "woocommerce", changed, "product.updated", SITE) == "accepted"
    found = wait_for(lambda: drift(http), what="the drift")
    assert [(d["channel"], d["product_key"], d["skus"], d["fields"]) for d in found] == [
        ("woocommerce", KEY, ["DRIP-CER-CRM", "DRIP-CER-SLT"], ["variants"])
    ]
    wait_for(lambda: idle(masters_stack), what="the queues to settle")
    assert len(stores.of("shopify")) == 1 and len(bigcommerce.requests) == 1


def test_a_woocommerce_change_whose_variations_cannot_be_read_at_intake_is_read_later_not_lost(
    masters_stack, http, stores
):
    # Runs after the test above (one stack per module): its drift is there already.
    before = drift(http)
    wait_for(lambda: idle(masters_stack), what="the queues to settle")
    stores.woo_variations[812][0].update(regular_price="29.00", sale_price="", price="29.00")
    sent = len(stores.requests)
    stores.fail_next = 2  # the store answers 503 to intake's read and its one retry
    changed = stores.woo_webhook(812, "2026-11-20T23:10:00")
    assert post(http, masters_stack, "woocommerce", changed, "product.updated", SITE) == "accepted"
    # resource_fetch reads the variations from its own queue, and the change is judged: drift.
    found = wait_for(lambda: len(drift(http)) > len(before) and drift(http), what="the drift read later")
    wait_for(lambda: idle(masters_stack), what="the queues to settle")
    newest = found[0]
    assert (newest["channel"], newest["product_key"], newest["fields"]) == ("woocommerce", KEY, ["variants"])
    reads = [r.path for r in stores.requests[sent:]]
    assert reads == ["/wp-json/wc/v3/products/812/variations?per_page=100&page=1"] * 3  # 2 failed, then read
