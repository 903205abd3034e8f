"""Catalog sync end to end, through a local stack of this module's own: Shopify is the catalog master,
WooCommerce (in euros, with a markup), BigCommerce and Adobe Commerce are pushed to, all of them one
fake of their product APIs served here on 127.0.0.1 (tests/catalog_fakes.py) that checks each
store's credentials as the stores do.

A signed Shopify products/update reaches every other store with its own prices; the same product
delivered again pushes nothing; WooCommerce's webhook for the hub's own write is not drift; a price
changed in the WooCommerce admin is drift, shown by GET /catalog/drift and never pushed to Shopify."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import yaml

from commerce_hub.local import LocalStack
from commerce_hub.signing import sign_delivery
from tests.catalog_fakes import CATALOG_SECRETS, STORE_HASH, FakeProductApis
from tests.e2e import waiting
from tests.functional.test_catalog_sync import SCARF, SHOP

from .conftest import AUTH, ROOT, _environment

pytestmark = pytest.mark.e2e

wait_for = functools.partial(waiting.wait_for, seconds=180)
SITE = "https://shop.example.com"
KEY = "shopify:8123456789044"


def _config(api_url: str) -> str:
    document = yaml.safe_load((ROOT / "config" / "local.yaml").read_text())
    document["channels"] = {
        "shopify": {"platform": "shopify", "shop_domain": SHOP, "api_url": api_url},
        "woocommerce": {"platform": "woocommerce", "site_url": SITE, "api_url": api_url},
        "bigcommerce": {
            "platform": "bigcommerce",
            "store_hash": STORE_HASH,
            "api_url": api_url,
            # BigCommerce's product webhooks name ids only; the product's ids are configured here.
            "sku_map": {"SCARF-WOOL-GRY": {"product_id": "77"}},
        },
        "magento": {"platform": "magento", "api_url": api_url},
    }
    for channel in document["channels"].values():
        channel["reconcile"] = {"every_minutes": 0}  # this fake is the product API, not the order feeds
    document["catalog"] = {
        "master": "shopify",
        "currency": "USD",
        "channels": {
            "woocommerce": {"price": {"currency": "EUR", "rate": "0.92", "markup_percent": "10", "round_to": 5}},
            "bigcommerce": {},
            "magento": {"price": {"markup_percent": "-10"}},
        },
    }
    return yaml.safe_dump(document, sort_keys=False)


@pytest.fixture(scope="module")
def stores() -> FakeProductApis:
    fake = FakeProductApis()
    fake.woo_product(812, "SCARF-WOOL-GRY", name="Scarf", regular_price="30.00")
    return fake


@pytest.fixture(scope="module")
def catalog_stack(stores, tmp_path_factory) -> Iterator[LocalStack]:
    with stores.serve() as api_url:
        config = tmp_path_factory.mktemp("config") / "catalog.yaml"
        config.write_text(_config(api_url))
        env = _environment(HUB_CONFIG=str(config), **CATALOG_SECRETS)
        with LocalStack(ROOT, http_port=0, aws_port=0, env=env) as running:
            yield running


@pytest.fixture
def http(catalog_stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=catalog_stack.url, timeout=30) as client:
        yield client


def post(http: httpx.Client, stack: LocalStack, source: str, body: dict[str, Any], topic: str, account: str) -> str:
    raw = json.dumps(body).encode()
    delivery = sign_delivery(
        source, raw, topic=topic, secrets=stack.secrets, delivery_id=str(uuid.uuid4()), account=account
    )
    response = http.post(f"/webhooks/{source}", content=delivery.body, headers=delivery.headers)
    assert response.status_code == 200, response.text
    return response.json()["status"]


def idle(stack: LocalStack) -> bool:
    sqs = stack.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        if "dlq" in url:
            continue
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        if any(int(v) for v in attrs.values()):
            return False
    return True


def learned(stack: LocalStack, channel: str, sku: str) -> bool:
    table = stack.physical_ids["HubTable"]
    key = {"pk": {"S": f"CHANNEL#{channel}"}, "sk": {"S": f"SKU#{sku}"}}
    return "Item" in stack.client("dynamodb").get_item(TableName=table, Key=key)


def drift(http: httpx.Client) -> list[dict[str, Any]]:
    response = http.get("/catalog/drift", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()["drift"]


def test_a_master_change_reaches_every_other_store_once_and_a_change_there_is_drift(catalog_stack, http, stores):
    # WooCommerce's own webhook for its product teaches the hub the product's id there; the
    # product is in no catalog yet, so it is nobody's drift.
    assert (
        post(
            http, catalog_stack, "woocommerce", stores.woo_webhook(812, "2026-11-20T10:00:00"), "product.updated", SITE
        )
        == "accepted"
    )
    wait_for(lambda: learned(catalog_stack, "woocommerce", "SCARF-WOOL-GRY"), what="the WooCommerce id learned")
    wait_for(lambda: idle(catalog_stack), what="the queues to settle")

    # The master's change.
    assert post(http, catalog_stack, "shopify", SCARF, "products/update", SHOP) == "accepted"
    wait_for(lambda: stores.of("woocommerce") and stores.of("bigcommerce") and stores.of("magento"), what="the pushes")
    wait_for(lambda: idle(catalog_stack), what="the queues to settle")

    (woo,) = stores.of("woocommerce")
    assert (woo.method, woo.path) == ("PUT", "/wp-json/wc/v3/products/812")
    # 40.00 USD * 0.92 * 1.10 = 40.48 EUR, to 5 cents: 40.50
    assert (woo.body["name"], woo.body["regular_price"], woo.body["sale_price"]) == ("Wool Scarf", "40.50", "")
    (big,) = stores.of("bigcommerce")
    assert (big.method, big.path) == ("PUT", f"/stores/{STORE_HASH}/v3/catalog/products/77")
    assert big.body == {
        "name": "Wool Scarf",
        "description": "<p>Warm grey wool.</p>",
        "is_visible": True,
        "price": Decimal("40.00"),  # a JSON number, as BigCommerce's schema has it
        "sale_price": Decimal("0"),
    }
    (magento,) = stores.of("magento")
    assert magento.path == "/rest/V1/products/SCARF-WOOL-GRY"
    assert magento.body["product"]["price"] == Decimal("36.00")  # -10%
    assert stores.of("shopify") == []  # never back to the master

    product = http.get("/products/SCARF-WOOL-GRY", headers=AUTH).json()
    assert (product["product_key"], product["version"], product["published"]) == (KEY, 1, True)

    # The same product again (Shopify sends a products/update for a change the catalog does not
    # hold, a stock change): recorded as unchanged, nothing pushed twice.
    sent = len(stores.requests)
    assert post(http, catalog_stack, "shopify", SCARF, "products/update", SHOP) in ("accepted", "duplicate")
    wait_for(lambda: idle(catalog_stack), what="the queues to settle")
    assert len(stores.requests) == sent

    # WooCommerce's webhook for the hub's own write: an echo, not drift.
    assert (
        post(
            http, catalog_stack, "woocommerce", stores.woo_webhook(812, "2026-11-20T21:41:00"), "product.updated", SITE
        )
        == "accepted"
    )
    wait_for(lambda: idle(catalog_stack), what="the queues to settle")
    assert drift(http) == []

    # A price changed in the WooCommerce admin: drift, shown, and not pushed to Shopify.
    stores.woocommerce[812]["regular_price"] = "35.00"
    assert (
        post(
            http, catalog_stack, "woocommerce", stores.woo_webhook(812, "2026-11-20T22:05:00"), "product.updated", SITE
        )
        == "accepted"
    )
    found = wait_for(lambda: drift(http), what="the drift")
    assert [(d["channel"], d["product_key"], d["skus"], d["fields"]) for d in found] == [
        ("woocommerce", KEY, ["SCARF-WOOL-GRY"], ["variants"])
    ]
    wait_for(lambda: idle(catalog_stack), what="the queues to settle")
    assert stores.of("shopify") == []
    assert len(stores.requests) == sent
    assert len(drift(http)) == 1  # the echo judged before it was not drift either
