"""Catalog sync with moto: a signed Shopify products/update through webhook_intake, routed by the
template's rule to the catalog-sync queue, catalog_sync recording the product in DynamoDB and pushing
it to a fake WooCommerce (respx) with its price override; the same record again pushes nothing; the
store's echo is not drift, a change made there is; and with `catalog:` absent, nothing happens."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import boto3
import httpx
import pytest
import respx

from commerce_hub.local.keys import local_signing_keys
from commerce_hub.local.secrets import local_secrets
from commerce_hub.signing import sign_delivery
from tests.catalog_fakes import CATALOG_SECRETS, FakeProductApis
from tests.functional.conftest import CONFIG_PARAMETER, ROOT, FakeContext
from tests.functional.test_intake_properties import api_event
from tests.functional.test_stock_sync import receive, run

API = "https://stores.fake.test"
SHOP = "ada-goods.myshopify.com"
SITE = "https://shop.example.com"
CONFIG = f"""
channels:
  shopify: {{platform: shopify, shop_domain: {SHOP}, api_url: "{API}", reconcile: {{every_minutes: 0}}}}
  woocommerce:
    platform: woocommerce
    site_url: "{SITE}"
    api_url: "{API}"
    reconcile: {{every_minutes: 0}}
locations:
  - {{id: wh-east, country: US}}
catalog:
  master: shopify
  currency: USD
  channels:
    woocommerce: {{price: {{currency: EUR, rate: "0.92", markup_percent: 10, round_to: 5}}}}
"""
SECRETS = {**local_secrets({}, local_signing_keys(ROOT)), **CATALOG_SECRETS}

# A products/update as Shopify sends it (REST product resource, webhook API version 2026-10: prices
# as decimal strings, compare_at_price null when unset, one "Title" option for a product without
# options; shopify.dev/docs/api/admin-rest/2026-10/resources/product and webhooks reference).
SCARF = {
    "id": 8123456789044,
    "title": "Wool Scarf",
    "body_html": "<p>Warm grey wool.</p>",
    "vendor": "Ada Goods",
    "product_type": "Accessories",
    "handle": "wool-scarf",
    "status": "active",
    "created_at": "2026-09-02T10:14:05-04:00",
    "updated_at": "2026-11-20T16:40:03-05:00",
    "published_at": "2026-09-02T10:14:05-04:00",
    "tags": "",
    "admin_graphql_api_id": "gid://shopify/Product/8123456789044",
    "options": [{"id": 1, "product_id": 8123456789044, "name": "Title", "position": 1, "values": ["Default Title"]}],
    "images": [
        {"id": 3, "product_id": 8123456789044, "position": 1, "src": "https://cdn.shopify.com/s/files/scarf.jpg"}
    ],
    "variants": [
        {
            "id": 45123456789044,
            "product_id": 8123456789044,
            "title": "Default Title",
            "sku": "SCARF-WOOL-GRY",
            "price": "40.00",
            "compare_at_price": None,
            "option1": "Default Title",
            "option2": None,
            "option3": None,
            "inventory_item_id": 44981234567044,
            "inventory_management": "shopify",
            "inventory_quantity": 9,
        }
    ],
}


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
    from tests.loopback import Request

    fake = FakeProductApis()
    fake.woo_product(812, "SCARF-WOOL-GRY", name="Scarf", regular_price="30.00")

    def answer(request: httpx.Request) -> httpx.Response:
        status, body, *headers = fake.answer(
            Request(request.method, request.url.raw_path.decode(), request.headers, request.content, "https")
        )
        return httpx.Response(status, json=body, headers=headers[0] if headers else {})

    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="stores.fake.test").mock(side_effect=answer)
        yield fake


@pytest.fixture
def fns(hub, load_function):
    # The WooCommerce product's id, as stock_updates learns it from the store's product webhooks.
    boto3.client("dynamodb").put_item(
        TableName=hub.resources["HubTable"],
        Item={"pk": {"S": "CHANNEL#woocommerce"}, "sk": {"S": "SKU#SCARF-WOOL-GRY"}, "product_id": {"S": "812"}},
    )
    return {name: load_function(name) for name in ("webhook_intake", "catalog_sync", "admin_api")}


def deliver(fns, source: str, body: dict[str, Any], topic: str, account: str) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    delivery = sign_delivery(source, raw, topic=topic, secrets=SECRETS, delivery_id=str(uuid.uuid4()), account=account)
    response = fns["webhook_intake"].lambda_handler(api_event(source, delivery.headers, raw, False), FakeContext())
    answer = json.loads(response["body"])
    assert response["statusCode"] == 200, answer
    return answer


def admin(
    fns, path: str, route: str, query: str = "", body: Any = None, method: str = "GET", **params: str
) -> tuple[int, Any]:
    """An admin API request as API Gateway hands it to the function (events/admin_api_get_inventory.json)."""
    request = json.loads((ROOT / "events" / "admin_api_get_inventory.json").read_text())
    request.update(rawPath=path, routeKey=route, rawQueryString=query, pathParameters=params or None)
    if body is not None:
        request["body"] = json.dumps(body)
        request["headers"]["content-type"] = "application/json"
    if query:
        request["queryStringParameters"] = dict(part.split("=", 1) for part in query.split("&"))
    http = {**request["requestContext"]["http"], "path": path, "method": method}
    request["requestContext"].update(routeKey=route, http=http)
    response = fns["admin_api"].lambda_handler(request, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def item(aws, pk: str, sk: str) -> dict[str, Any] | None:
    table = aws.resources["HubTable"]
    return boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item")


def test_a_shopify_product_change_reaches_woocommerce_once_with_its_price_override(hub, fns, stores, bus_tap):
    assert deliver(fns, "shopify", SCARF, "products/update", SHOP)["status"] == "accepted"
    messages = receive(hub, "CatalogSyncQueue")
    assert len(messages) == 1
    for m in messages:  # back on the queue for the function to take
        boto3.client("sqs").change_message_visibility(
            QueueUrl=hub.queue_url("CatalogSyncQueue"), ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )

    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []

    put = stores.of("woocommerce")[0]
    assert (put.method, put.path) == ("PUT", "/wp-json/wc/v3/products/812")
    # 40.00 USD * 0.92 * 1.10 = 40.48 EUR -> to 5 cents: 40.50
    assert put.body == {
        "name": "Wool Scarf",
        "description": "<p>Warm grey wool.</p>",
        "status": "publish",
        "images": [{"src": "https://cdn.shopify.com/s/files/scarf.jpg"}],
        "regular_price": "40.50",
        "sale_price": "",
    }
    product = item(hub, "PRODUCT#shopify:8123456789044", "PRODUCT")
    assert product is not None and product["version"]["N"] == "1" and product["published"]["BOOL"] is True
    assert item(hub, "PRODSKU#SCARF-WOOL-GRY", "PRODUCT")["product_key"]["S"] == "shopify:8123456789044"
    published = [e for e in bus_tap.events() if e["detail-type"] == "ProductPublished"]
    assert [e["detail"]["data"]["price"] for e in published] == [4000]
    assert published[0]["detail"]["data"]["url"] == f"https://{SHOP}/products/wool-scarf"

    # The same record delivered again (SQS at least once): nothing is pushed twice.
    sent = len(stores.requests)
    for m in messages:
        record = {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:catalog-sync",
            "awsRegion": "us-east-1",
        }
        assert fns["catalog_sync"].lambda_handler({"Records": [record]}, FakeContext())["batchItemFailures"] == []
    assert len(stores.requests) == sent

    # WooCommerce's webhook for the hub's own write: an echo, no drift.
    echo = stores.woo_webhook(812, "2026-11-20T21:41:00")
    assert deliver(fns, "woocommerce", echo, "product.updated", SITE)["status"] == "accepted"
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []
    assert not boto3.client("dynamodb").query(
        TableName=hub.resources["HubTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CATDRIFT#log"}},
    )["Items"]

    # A price changed in the WooCommerce admin: drift, recorded, not pushed to Shopify.
    stores.woocommerce[812]["regular_price"] = "35.00"
    changed = stores.woo_webhook(812, "2026-11-20T22:05:00")
    assert deliver(fns, "woocommerce", changed, "product.updated", SITE)["status"] == "accepted"
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []
    (drift,) = boto3.client("dynamodb").query(
        TableName=hub.resources["HubTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "CATDRIFT#log"}},
    )["Items"]
    assert drift["channel"]["S"] == "woocommerce" and drift["fields"]["L"] == [{"S": "variants"}]
    assert stores.of("shopify") == []

    # The admin API shows both: the master's product as recorded, and the drift.
    status, shown = admin(fns, "/catalog/drift", "GET /catalog/drift")
    assert status == 200
    assert shown["drift"] == [
        {
            "channel": "woocommerce",
            "product_key": "shopify:8123456789044",
            "skus": ["SCARF-WOOL-GRY"],
            "fields": ["variants"],
            "detected_at": "2026-11-20T22:05:00+00:00",
            "event_id": drift["event_id"]["S"],
        }
    ]
    status, product = admin(fns, "/products/SCARF-WOOL-GRY", "GET /products/{sku}", sku="SCARF-WOOL-GRY")
    assert status == 200
    assert (product["version"], product["published"], product["variants"][0]["price"]) == (1, True, "40.00")
    assert admin(fns, "/products/NOPE", "GET /products/{sku}", sku="NOPE")[0] == 404
    assert admin(fns, "/catalog/drift", "GET /catalog/drift", query="limit=0")[0] == 400


def test_with_no_catalog_section_a_product_change_is_dropped_without_a_call(hub, fns, stores):
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    without = CONFIG.split("catalog:", 1)[0]
    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=without, Overwrite=True)
    parameters.clear_caches()
    forget_config()
    assert deliver(fns, "shopify", SCARF, "products/update", SHOP)["status"] == "accepted"
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []
    assert stores.requests == []
    assert item(hub, "PRODUCT#shopify:8123456789044", "PRODUCT") is None


def test_a_push_that_keeps_failing_fails_its_record_for_sqs_to_retry_then_dead_letter(hub, fns, stores):
    stores.fail_next = 100  # WooCommerce is down
    assert deliver(fns, "shopify", SCARF, "products/update", SHOP)["status"] == "accepted"
    failures = run(hub, fns["catalog_sync"], "CatalogSyncQueue")
    assert len(failures) == 1
    (message_id,) = [f["itemIdentifier"] for f in failures]
    failure = item(hub, f"FAILURE#{message_id}", "FAILURE")
    assert failure is not None and "product push failed" in json.dumps(failure)
    assert "cs_local_test" not in json.dumps(failure)  # no secret in what is recorded

    stores.fail_next = 0  # the store is back: the retry pushes, once
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []
    assert [r.method for r in stores.of("woocommerce") if r.path.endswith("/812")][-1] == "PUT"
    state = item(hub, "CATSYNC#woocommerce", "PRODUCT#shopify:8123456789044")
    assert state is not None and state["state"]["S"] == "done" and state["digest"]["S"]


def test_with_the_hub_as_master_a_product_set_through_the_admin_api_is_pushed(hub, fns, stores):
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    hub_master = CONFIG.replace("master: shopify", "master: hub")
    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=hub_master, Overwrite=True)
    parameters.clear_caches()
    forget_config()
    route = "PUT /products/{sku}"
    body = {
        "title": "Wool Scarf",
        "description": "<p>Warm grey wool.</p>",
        "status": "active",
        "variants": [{"sku": "SCARF-WOOL-GRY", "price": "40.00", "compare_at_price": "50.00"}],
    }
    status, refused = admin(
        fns, "/products/SCARF-WOOL-GRY", route, body={**body, "status": "gone"}, method="PUT", sku="SCARF-WOOL-GRY"
    )
    assert status == 400 and "status" in refused["error"]
    status, refused = admin(
        fns,
        "/products/SCARF-WOOL-GRY",
        route,
        body={**body, "variants": [{"sku": "SCARF-WOOL-GRY", "price": "40.001"}]},
        method="PUT",
        sku="SCARF-WOOL-GRY",
    )
    assert status == 400 and "more decimals than USD" in refused["error"]

    status, accepted = admin(fns, "/products/SCARF-WOOL-GRY", route, body=body, method="PUT", sku="SCARF-WOOL-GRY")
    assert status == 202, accepted
    assert accepted["product"]["product_key"] == "hub:SCARF-WOOL-GRY"
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []

    (put,) = stores.of("woocommerce")
    # 40.00 USD -> 40.50 EUR; compare-at 50.00 -> 50.60 EUR: the regular price, with the sale price
    assert (put.body["regular_price"], put.body["sale_price"]) == ("50.60", "40.50")
    status, product = admin(fns, "/products/SCARF-WOOL-GRY", "GET /products/{sku}", sku="SCARF-WOOL-GRY")
    assert (status, product["version"], product["variants"][0]["compare_at_price"]) == (200, 1, "50.00")


def test_the_consoles_catalog_page_lists_the_drift(hub, fns, stores, load_function, monkeypatch, context):
    from tests.functional import test_console
    from tests.functional.test_console import http, set_cookies, sign_in

    console = test_console.console.__wrapped__(hub, load_function, monkeypatch)
    assert deliver(fns, "shopify", SCARF, "products/update", SHOP)["status"] == "accepted"
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []
    stores.woocommerce[812]["name"] = "Grey Scarf"  # renamed in the WooCommerce admin
    assert deliver(fns, "woocommerce", stores.woo_webhook(812, "2026-11-20T22:05:00"), "product.updated", SITE)
    assert run(hub, fns["catalog_sync"], "CatalogSyncQueue") == []

    cookies = set_cookies(sign_in(console, context))
    page = console.lambda_handler(http("GET", "/console/catalog", cookies=cookies), context)
    assert page["statusCode"] == 200
    body = page["body"]
    assert '<a href="/console/catalog" aria-current="page">Catalog</a>' in body
    assert "The catalog master is <strong>shopify</strong>" in body
    row = re.search(r'<tr class="drift" data-channel="woocommerce">(.*?)</tr>', body, re.S)
    assert row is not None
    assert "shopify:8123456789044" in row.group(1) and '<td class="fields">title</td>' in row.group(1)
