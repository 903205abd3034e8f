"""Catalog sync with moto, BigCommerce as the master: a signed store/product/updated through
webhook_intake, which reads the product with its variants and images from the BigCommerce API (the
fake of tests/bigcommerce_api.py, its product shaped on BigCommerce's API reference), routed by the
template's rule to catalog_sync, which records it and pushes it to a WooCommerce variable product
(tests/catalog_fakes.py); WooCommerce's webhook for that write is read with its variations and is
an echo; a variation's price changed in WooCommerce is drift."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
import pytest
import respx

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets
from tests.bigcommerce_api import STORE_HASH, FakeBigCommerce
from tests.catalog_fakes import BIGCOMMERCE_TOKEN, CATALOG_SECRETS, FakeProductApis
from tests.functional.conftest import CONFIG_PARAMETER, ROOT
from tests.functional.test_catalog_sync import deliver, item
from tests.functional.test_stock_sync import run

API = "https://stores.fake.test"
BC_API = "https://bc.fake.test"
SITE = "https://shop.example.com"
CONFIG = f"""
channels:
  bigcommerce: {{platform: bigcommerce, store_hash: {STORE_HASH}, api_url: "{BC_API}", reconcile: {{every_minutes: 0}}}}
  woocommerce:
    platform: woocommerce
    site_url: "{SITE}"
    api_url: "{API}"
    reconcile: {{every_minutes: 0}}
locations:
  - {{id: wh-east, country: US}}
catalog:
  master: bigcommerce
  currency: USD
  channels:
    woocommerce: {{}}
"""
SECRETS = {**local_secrets({}, local_signing_keys(ROOT)), **CATALOG_SECRETS}
PRODUCT_UPDATED = {
    "created_at": 1795685488,
    "store_id": "1003871",
    "producer": f"stores/{STORE_HASH}",
    "scope": "store/product/updated",
    "hash": "3f1c0e7d9b2a4c1e8f5d6b7a9c0e1f2a3b4c5d6e",
    "data": {"type": "product", "id": 1142},
}


def _serve(fake_answer) -> Any:
    from tests.loopback import Request

    def answer(request: httpx.Request) -> httpx.Response:
        status, body, *headers = fake_answer(
            Request(request.method, request.url.raw_path.decode(), request.headers, request.content, "https")
        )
        return httpx.Response(status, json=body, headers=headers[0] if headers else {})

    return answer


@pytest.fixture
def hub(aws):
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=CONFIG, Overwrite=True)
    aws.put_secrets(SECRETS)
    parameters.clear_caches()
    forget_config()
    return aws


@pytest.fixture
def stores():
    fake = FakeProductApis()
    fake.woo_variable(812, "Colour", {"DRIP-CER-SLT": ("Slate", "30.00"), "DRIP-CER-CRM": ("Cream", "30.00")})
    bigcommerce = FakeBigCommerce(token=BIGCOMMERCE_TOKEN)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="stores.fake.test").mock(side_effect=_serve(fake.answer))
        mock.route(host="bc.fake.test").mock(side_effect=_serve(bigcommerce.reply))
        yield fake, bigcommerce


@pytest.fixture
def fns(hub, load_function):
    # The WooCommerce variations' ids, as stock_updates learns them from the store's product webhooks.
    for sku, variation in (("DRIP-CER-SLT", "8120"), ("DRIP-CER-CRM", "8121")):
        boto3.client("dynamodb").put_item(
            TableName=hub.resources["HubTable"],
            Item={
                "pk": {"S": "CHANNEL#woocommerce"},
                "sk": {"S": f"SKU#{sku}"},
                "product_id": {"S": "812"},
                "variation_id": {"S": variation},
            },
        )
    return {name: load_function(name) for name in ("webhook_intake", "catalog_sync")}


def drift(hub) -> list[dict[str, Any]]:
    return boto3.client("dynamodb").query(
        TableName=hub.resources["HubTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CATDRIFT#log"}},
    )["Items"]


def test_a_bigcommerce_master_change_reaches_a_woocommerce_variable_product_whose_drift_is_judged(hub, fns, stores):
    woo, bigcommerce = stores
    assert deliver(fns, "bigcommerce", PRODUCT_UPDATED, "store/product/updated", STORE_HASH)["status"] == "accepted"
    assert bigcommerce.requests == [f"/stores/{STORE_HASH}/v3/catalog/products/1142?include=variants,images"]
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []

    product = item(hub, "PRODUCT#bigcommerce:1142", "PRODUCT")
    assert product is not None and product["version"]["N"] == "1"
    put, batch = woo.of("woocommerce")
    assert (put.method, put.path) == ("PUT", "/wp-json/wc/v3/products/812")
    assert (put.body["name"], put.body["status"]) == ("Ceramic Pour-Over Dripper", "publish")
    assert put.body["images"][0]["src"].endswith("/front.jpg")  # the thumbnail first
    assert (batch.method, batch.path) == ("POST", "/wp-json/wc/v3/products/812/variations/batch")
    # BigCommerce's sale price 32 on a price of 36.5: the regular price, with the sale price
    assert batch.body == {
        "update": [
            {"id": 8120, "regular_price": "34.95", "sale_price": ""},
            {"id": 8121, "regular_price": "36.50", "sale_price": "32.00"},
        ]
    }

    # WooCommerce's webhook for that write lists variation ids only: intake reads the variations,
    # and the product is the echo of the hub's own push.
    sent = len(woo.requests)
    echo = woo.woo_webhook(812, "2026-11-20T21:41:00")
    assert deliver(fns, "woocommerce", echo, "product.updated", SITE)["status"] == "accepted"
    (read,) = woo.requests[sent:]
    assert (read.method, read.path) == ("GET", "/wp-json/wc/v3/products/812/variations?per_page=100&page=1")
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []
    assert drift(hub) == []

    # A variation's price changed in the WooCommerce admin: drift, recorded, nothing pushed anywhere.
    woo.woo_variations[812][1].update(regular_price="40.00", sale_price="", price="40.00")
    changed = woo.woo_webhook(812, "2026-11-20T22:05:00")
    assert deliver(fns, "woocommerce", changed, "product.updated", SITE)["status"] == "accepted"
    sent = len(woo.requests)
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []
    (found,) = drift(hub)
    assert (found["channel"]["S"], found["product_key"]["S"]) == ("woocommerce", "bigcommerce:1142")
    assert found["fields"]["L"] == [{"S": "variants"}]
    assert len(woo.requests) == sent and len(bigcommerce.requests) == 1  # nothing pushed, nothing read again
