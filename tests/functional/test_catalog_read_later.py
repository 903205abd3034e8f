"""Catalog sync's further reads with moto, when the store does not answer at intake: a WooCommerce
variable product's variations (`GET /wp-json/wc/v3/products/{id}/variations`) and a thin Adobe
Commerce product save (`GET /rest/V1/products/{sku}`). Intake publishes the stock report at once and
a `ResourceFetchRequested`, which the template's rule queues for resource_fetch; resource_fetch reads
the store (tests/catalog_fakes.py, its shapes from the WooCommerce REST API docs and Adobe's sample
event, events/payloads/magento_catalog_product_save_after.json) through an httpx.MockTransport and
publishes the ProductUpdated intake would have, once; while the store is still down the record fails
and comes back later."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hub.bootstrap import Sandbox

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets
from tests.catalog_fakes import CATALOG_SECRETS, FakeProductApis
from tests.functional.conftest import CONFIG_PARAMETER, ROOT
from tests.functional.test_catalog_sync import deliver
from tests.functional.test_resource_fetch import failed_ids, receive, show_again

SITE = "https://shop.example.com"
CONFIG = f"""
channels:
  shopify: {{platform: shopify, shop_domain: ada-goods.myshopify.com}}
  woocommerce: {{platform: woocommerce, site_url: "{SITE}", api_url: "https://stores.fake.test",
                 reconcile: {{every_minutes: 0}}}}
  magento: {{platform: magento, site_url: "https://harbour.fake.test", auth: oauth1, reconcile: {{every_minutes: 0}}}}
locations:
  - {{id: wh-east, country: US}}
catalog:
  master: shopify
  currency: USD
  channels:
    woocommerce: {{}}
    magento: {{}}
"""
SECRETS = {**local_secrets({}, local_signing_keys(ROOT)), **CATALOG_SECRETS}


@pytest.fixture
def store() -> FakeProductApis:
    fake = FakeProductApis()
    fake.woo_variable(
        22, "Size", {"TEE-S": ("S", "20.00"), "TEE-M": ("M", "21.00")}, name="Ship Your Idea", description="<p>Tee.</p>"
    )
    fake.magento["CANDLE-CEDAR-L"] = {
        "id": 1982,
        "sku": "CANDLE-CEDAR-L",
        "type_id": "simple",
        "name": "Cedar Candle Large",
        "price": Decimal("38"),
        "status": 1,
        "updated_at": "2026-11-20 16:05:41",
        "custom_attributes": [
            {"attribute_code": "description", "value": "<p>Cedar and amber.</p>"},
            {"attribute_code": "special_price", "value": "32.5"},
        ],
    }
    return fake


@pytest.fixture
def fns(aws, store, load_function, monkeypatch) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=CONFIG, Overwrite=True)
    aws.put_secrets(SECRETS)
    parameters.clear_caches()
    forget_config()
    monkeypatch.setenv("HUB_RESOURCE_FETCH_QUEUE_URL", aws.queue_url("ResourceFetchQueue"))
    loaded = {}
    for name in ("webhook_intake", "resource_fetch"):
        module = load_function(name)
        monkeypatch.setattr(module, "sandbox", Sandbox(http_transport=store.transport()))
        loaded[name] = module
    return loaded


def published(bus_tap) -> list[tuple[str, dict[str, Any]]]:
    return [(e["detail-type"], e["detail"]) for e in bus_tap.events()]


def test_variations_not_read_at_intake_are_read_by_resource_fetch(aws, bus_tap, fns, store, context):
    store.fail_next = 2  # 503 on the read and its one retry
    webhook = {**store.woo_webhook(22, "2026-11-20T16:40:03"), "manage_stock": True, "stock_quantity": 4}
    answer = deliver(fns, "woocommerce", webhook, "product.updated", SITE)
    assert answer["status"] == "accepted"
    (stock_type, stock), (fetch_type, requested) = published(bus_tap)
    assert (stock_type, stock["data"]["available"]) == ("StockLevelReported", 4)  # at once, as before
    assert fetch_type == "ResourceFetchRequested"
    assert (requested["data"]["platform"], requested["data"]["resource"]) == ("woocommerce", "variations")

    messages = receive(aws)
    assert len(messages) == 1
    # Still down: the record fails and comes back later.
    store.fail_next = 2
    assert failed_ids(fns["resource_fetch"], aws, messages, context) == {messages[0]["MessageId"]}
    assert bus_tap.events() == []
    show_again(aws, messages[0])

    reads = len(store.of("woocommerce"))
    messages = receive(aws)
    assert fns["resource_fetch"].lambda_handler(_sqs(aws, messages), context) == {"batchItemFailures": []}
    (read,) = store.of("woocommerce")[reads:]
    assert (read.method, read.path) == ("GET", "/wp-json/wc/v3/products/22/variations?per_page=100&page=1")
    ((kind, product),) = published(bus_tap)
    assert kind == "ProductUpdated" and product["event_id"] == requested["data"]["canonical_event_id"]
    assert product["channel"] == "woocommerce" and product["provider"] == requested["provider"]
    data = product["data"]
    assert (data["catalog"], data["title"], data["platform_product_id"]) == (True, "Ship Your Idea", "22")
    assert [(i["sku"], i["price"], i["option_values"]) for i in data["items"]] == [
        ("TEE-S", "20.00", ["S"]),
        ("TEE-M", "21.00", ["M"]),
    ]
    assert [m["detail"]["event_id"] for m in aws.drain("CatalogSyncQueue")] == [product["event_id"]]

    # The same record again (SQS delivers at least once): read, but nothing published twice.
    assert fns["resource_fetch"].lambda_handler(_sqs(aws, messages), context) == {"batchItemFailures": []}
    assert bus_tap.events() == []


def test_an_adobe_commerce_product_not_read_at_intake_is_read_by_resource_fetch(aws, bus_tap, fns, store, context):
    event = json.loads((ROOT / "events/payloads/magento_catalog_product_save_after.json").read_text())
    event["data"]["value"] = {"sku": "CANDLE-CEDAR-L", "updated_at": "2026-11-20 16:05:41"}  # a thin subscription
    store.fail_next = 2
    answer = deliver(fns, "magento", event, "observer.catalog_product_save_after", "harbour-home")
    assert answer["status"] == "accepted"
    ((kind, requested),) = published(bus_tap)
    assert kind == "ResourceFetchRequested"
    assert (requested["data"]["platform"], requested["data"]["resource_id"]) == ("magento", "CANDLE-CEDAR-L")

    messages = receive(aws)
    assert fns["resource_fetch"].lambda_handler(_sqs(aws, messages), context) == {"batchItemFailures": []}
    read = store.of("magento")[-1]
    assert (read.method, read.path) == ("GET", "/rest/V1/products/CANDLE-CEDAR-L")
    assert read.headers["authorization"].startswith("OAuth ")
    ((kind, product),) = published(bus_tap)
    assert kind == "ProductUpdated" and product["channel"] == "magento"
    data = product["data"]
    assert (data["title"], data["status"], data["description"]) == (
        "Cedar Candle Large",
        "active",
        "<p>Cedar and amber.</p>",
    )
    assert [(i["sku"], i["price"], i["compare_at_price"]) for i in data["items"]] == [("CANDLE-CEDAR-L", "32.5", "38")]

    # The same record again (SQS delivers at least once): nothing published twice.
    assert fns["resource_fetch"].lambda_handler(_sqs(aws, messages), context) == {"batchItemFailures": []}
    assert bus_tap.events() == []


def _sqs(aws, messages: list[dict]) -> dict:
    from tests.functional.test_resource_fetch import as_lambda_event

    return as_lambda_event(aws, messages)
