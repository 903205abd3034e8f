"""Stock levels and multi-channel sync with moto: storefront webhooks through webhook_intake to
stock_updates, the ledger in DynamoDB, StockLevelChanged routed by the template's rules to the stock
and channel-sync queues, channel_sync pushing to a fake of the storefront APIs (respx), and a push
that keeps failing retried by SQS until its dead-letter queue holds it."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import httpx
import pytest
import respx
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from httpx_retries import Retry
from hub.adapters.breaker import breaker_for

from tests.functional.conftest import CONFIG_PARAMETER, ROOT, FakeContext, event
from tests.functional.test_stock_updates import set_level
from tests.stock_fakes import STOREFRONT_SECRETS, FakeStorefronts

API = "https://storefronts.fake.test"
ITEM = "gid://shopify/InventoryItem/44981234567001"
CONFIG = f"""
channels:
  shopify: {{platform: shopify, api_url: "{API}", locations: {{71234567890: wh-east, 71234567891: wh-west}}}}
  woocommerce:
    platform: woocommerce
    api_url: "{API}"
    sku_map: {{TEE-ORGANIC-L: {{product_id: 812}}}}
  magento:
    platform: magento
    api_url: "{API}"
    sku_map: {{TEE-ORGANIC-L: {{}}, BEANIE-MER-CHR: {{}}}}
gateways:
  stripe: {{channel: woocommerce}}
locations:
  - {{id: wh-east, country: US}}
  - {{id: wh-west, country: US}}
  - {{id: wh-eu, country: DE}}
low_stock_threshold: 5
"""


@pytest.fixture
def hub(aws, monkeypatch):
    """The stack with three storefront channels configured and their API credentials in the secret."""
    from aws_lambda_powertools.utilities import parameters
    from hub.config import forget_config

    from commerce_hub.local.keys import local_signing_keys
    from commerce_hub.local.secrets import local_secrets

    boto3.client("ssm").put_parameter(Name=CONFIG_PARAMETER, Type="String", Value=CONFIG, Overwrite=True)
    secrets = {**local_secrets({}, local_signing_keys(ROOT)), **STOREFRONT_SECRETS}
    aws.put_secrets(secrets)
    parameters.clear_caches()
    forget_config()
    return aws


@pytest.fixture
def storefronts():
    fake = FakeStorefronts()

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = fake.answer(
            request.method, request.url.path, dict(request.headers), request.content, str(request.url)
        )
        return httpx.Response(status, json=body)

    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="storefronts.fake.test").mock(side_effect=answer)
        yield fake


@pytest.fixture
def fns(hub, load_function):
    return {name: load_function(name) for name in ("webhook_intake", "stock_updates", "channel_sync", "admin_api")}


def receive(aws, queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages = []
    while True:
        got = sqs.receive_message(
            QueueUrl=aws.queue_url(queue), MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=30
        ).get("Messages", [])
        if not got:
            return messages
        messages.extend(got)


def run(aws, fn, queue: str) -> list[dict[str, Any]]:
    """Hand every message on the queue to the function as Lambda's poller would; delete the successes."""
    sqs = boto3.client("sqs")
    messages = receive(aws, queue)
    if not messages:
        return []
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{aws.queue_url(queue).rsplit('/', 1)[1]}",
            "awsRegion": "us-east-1",
        }
        for m in messages
    ]
    try:
        failures = fn.lambda_handler({"Records": records}, FakeContext())["batchItemFailures"]
    except BatchProcessingError:
        # Every record failed: the invocation fails, and Lambda returns the whole batch to the queue.
        failures = [{"itemIdentifier": r["messageId"]} for r in records]
    failed = {f["itemIdentifier"] for f in failures}
    for m in messages:
        if m["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=aws.queue_url(queue), ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=aws.queue_url(queue), ReceiptHandle=m["ReceiptHandle"])
    return failures


def settle(aws, fns) -> None:
    """Run stock_updates and channel_sync until both their queues are empty."""
    for _ in range(10):
        failures = run(aws, fns["stock_updates"], "StockQueue") + run(aws, fns["channel_sync"], "ChannelSyncQueue")
        assert failures == [], failures
        if not receive_count(aws, "StockQueue") and not receive_count(aws, "ChannelSyncQueue"):
            return
    raise AssertionError("the stock queues did not settle")


def receive_count(aws, queue: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=aws.queue_url(queue), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def deliver(fns, name: str) -> list[str]:
    response = fns["webhook_intake"].lambda_handler(event(name), FakeContext())
    body = json.loads(response["body"])
    assert (response["statusCode"], body["status"]) == (200, "accepted"), body
    return body["event_ids"]


def level(aws, sku: str, location: str) -> tuple[int, int] | None:
    item = (
        boto3.client("dynamodb")
        .get_item(TableName=aws.resources["HubTable"], Key={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": f"LOC#{location}"}})
        .get("Item")
    )
    return (int(item["available"]["N"]), int(item["reserved"]["N"])) if item else None


def record(aws, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An SQS record as the stock queue would deliver an event of the bus."""
    body = {
        "version": "0",
        "id": "11111111-2222-3333-4444-555555555555",
        "detail-type": detail_type,
        "source": f"commerce-hub.{detail['source']}",
        "account": "123456789012",
        "time": "2026-11-20T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    return dict(
        event("stock_updates_order_placed.json")["Records"][0], body=json.dumps(body), messageId=detail["event_id"]
    )


def shopify_level(available: int, at: str, item: int = 44981234567001, event_id: str = "evt_level") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "source": "shopify",
        "channel": "shopify",
        "occurred_at": at,
        "provider": {"topic": "inventory_levels/update"},
        "type": "StockLevelReported",
        "data": {
            "available": available,
            "platform_location_id": "71234567890",
            "platform_item_id": str(item),
            "updated_at": at,
        },
    }


# ------------------------------------------------------------------------------------ storefront levels
def test_a_shopify_level_after_its_product_sets_the_location_and_reaches_the_other_channels(
    hub, fns, storefronts, bus_tap, context
):
    deliver(fns, "webhook_intake_shopify_products_update.json")
    settle(hub, fns)
    deliver(fns, "webhook_intake_shopify_inventory_levels_update.json")
    settle(hub, fns)

    assert level(hub, "TEE-ORGANIC-L", "wh-east") == (42, 0)
    changed = [e for e in bus_tap.events() if e["detail-type"] == "StockLevelChanged"]
    assert [(e["detail"]["data"]["available"], e["detail"]["data"]["origin"]) for e in changed] == [(42, "shopify")]
    # WooCommerce and Magento are told; Shopify, where the level came from, is not.
    assert storefronts.of("shopify") == []
    (woo,) = storefronts.of("woocommerce")
    assert (woo.method, woo.path, woo.body) == (
        "PUT",
        "/wp-json/wc/v3/products/812",
        {"manage_stock": True, "stock_quantity": 42},
    )
    (magento,) = storefronts.of("magento")
    assert magento.body == {
        "sourceItems": [{"sku": "TEE-ORGANIC-L", "source_code": "default", "quantity": 42, "status": 1}]
    }

    # An admin correction goes everywhere; Shopify's changeFromQuantity is the count it reported
    # (Admin API 2026-10, InventoryQuantityInput).
    storefronts.levels[(ITEM, "gid://shopify/Location/71234567890")] = 42
    set_level(fns["admin_api"], context, "TEE-ORGANIC-L", "wh-east", 40)
    settle(hub, fns)
    (shopify,) = storefronts.of("shopify")
    quantities = shopify.body["variables"]["input"]["quantities"]
    assert quantities == [
        {
            "inventoryItemId": ITEM,
            "locationId": "gid://shopify/Location/71234567890",
            "quantity": 40,
            "changeFromQuantity": 42,
        }
    ]
    assert shopify.body["variables"]["idempotencyKey"]
    assert [r.body["stock_quantity"] for r in storefronts.of("woocommerce")] == [42, 40]


def test_a_woocommerce_level_is_learned_and_set_at_the_channels_location(hub, fns, storefronts):
    deliver(fns, "webhook_intake_woocommerce_product_updated.json")
    settle(hub, fns)
    assert level(hub, "BEANIE-MER-CHR", "wh-east") == (17, 0)
    ids = boto3.client("dynamodb").get_item(
        TableName=hub.resources["HubTable"], Key={"pk": {"S": "CHANNEL#woocommerce"}, "sk": {"S": "SKU#BEANIE-MER-CHR"}}
    )["Item"]
    assert (ids["product_id"]["S"], ids["variation_id"]["S"]) == ("327", "329")
    assert storefronts.of("woocommerce") == []
    assert [r.body["sourceItems"][0]["quantity"] for r in storefronts.of("magento")] == [17]


def test_an_older_level_is_refused_and_a_level_for_an_unknown_item_fails_nothing(
    hub, fns, storefronts, bus_tap, context, capsys
):
    stock = fns["stock_updates"]
    stock.lambda_handler({"Records": [record(hub, "ProductUpdated", product())]}, context)
    newer = record(hub, "StockLevelReported", shopify_level(9, "2026-11-20T12:00:05Z", event_id="evt_newer"))
    older = record(hub, "StockLevelReported", shopify_level(30, "2026-11-20T12:00:01Z", event_id="evt_older"))
    unknown = record(
        hub, "StockLevelReported", shopify_level(5, "2026-11-20T12:00:09Z", item=1, event_id="evt_unknown")
    )
    assert stock.lambda_handler({"Records": [newer, older, unknown]}, context) == {"batchItemFailures": []}
    assert level(hub, "TEE-ORGANIC-L", "wh-east") == (9, 0)
    out = capsys.readouterr().out
    assert '"StockLevelStale"' in out and '"StockLevelUnmapped"' in out
    assert [e["detail"]["data"]["available"] for e in bus_tap.events() if e["detail-type"] == "StockLevelChanged"] == [
        9
    ]


def product() -> dict[str, Any]:
    return {
        "event_id": "evt_product",
        "source": "shopify",
        "channel": "shopify",
        "occurred_at": "2026-11-20T11:00:00Z",
        "provider": {"topic": "products/update"},
        "type": "ProductUpdated",
        "data": {
            "platform_product_id": "8123456789012",
            "items": [{"sku": "TEE-ORGANIC-L", "platform_item_id": "44981234567001"}],
        },
    }


# ---------------------------------------------------------------------------------------- low stock
def test_low_stock_is_published_once_per_crossing(hub, fns, storefronts, bus_tap, context):
    for units in (8, 4, 2, 9, 3):
        set_level(fns["admin_api"], context, "MUG-ENAMEL-WHT", "wh-west", units)
        settle(hub, fns)
    low = [e["detail"]["data"] for e in bus_tap.events() if e["detail-type"] == "LowStock"]
    assert [(d["sku"], d["available"], d["threshold"]) for d in low] == [
        ("MUG-ENAMEL-WHT", 4, 5),
        ("MUG-ENAMEL-WHT", 3, 5),
    ]
    state = boto3.client("dynamodb").get_item(
        TableName=hub.resources["HubTable"], Key={"pk": {"S": "SKU#MUG-ENAMEL-WHT"}, "sk": {"S": "LOW"}}
    )["Item"]
    assert (state["low"]["BOOL"], state["crossings"]["N"]) == (True, "2")


# ------------------------------------------------------------------------------- reservations and sync
def test_an_order_reserving_stock_is_pushed_to_every_channel_but_its_own(hub, fns, storefronts, context):
    set_level(fns["admin_api"], context, "TEE-ORGANIC-L", "wh-east", 10)
    settle(hub, fns)
    before = len(storefronts.of("woocommerce"))
    ev = json.loads((ROOT / "events" / "stock_updates_order_placed.json").read_text())
    body = json.loads(ev["Records"][0]["body"])
    body["detail"]["channel"] = "woocommerce"
    body["detail"]["source"] = "woocommerce"
    body["detail"]["data"]["lines"] = [{"sku": "TEE-ORGANIC-L", "quantity": 3, "unit_price": 2400}]
    ev["Records"][0]["body"] = json.dumps(body)
    assert fns["stock_updates"].lambda_handler(ev, context) == {"batchItemFailures": []}
    settle(hub, fns)
    assert level(hub, "TEE-ORGANIC-L", "wh-east") == (7, 3)
    assert len(storefronts.of("woocommerce")) == before  # the order's own channel took the units itself
    assert storefronts.of("magento")[-1].body["sourceItems"][0]["quantity"] == 7


# ------------------------------------------------------------------------------------- retry -> DLQ
def test_a_push_that_keeps_failing_is_retried_then_dead_lettered(hub, fns, storefronts, context, monkeypatch):
    from hub.adapters import http

    monkeypatch.setattr(
        http,
        "default_retry",
        lambda **_: Retry(total=1, backoff_factor=0, status_forcelist=[503], allowed_methods=["PUT", "POST"]),
    )
    storefronts.fail_next = 10**6  # every storefront call answers 503
    set_level(fns["admin_api"], context, "TEE-ORGANIC-L", "wh-east", 6)
    run(hub, fns["stock_updates"], "StockQueue")

    attempts = 0
    while receive_count(hub, "ChannelSyncQueue") or attempts == 0:
        failures = run(hub, fns["channel_sync"], "ChannelSyncQueue")
        if not failures:
            break
        attempts += 1
        assert attempts <= 10
    assert attempts == 5  # the queue's maxReceiveCount
    (dead,) = receive(hub, "ChannelSyncDeadLetterQueue")
    detail = json.loads(dead["Body"])["detail"]
    assert (detail["type"], detail["data"]["sku"], detail["data"]["available"]) == (
        "StockLevelChanged",
        "TEE-ORGANIC-L",
        6,
    )
    # Every attempt went out (the first call and its one retry) until the circuit of the host both
    # channels share opened after five failed calls (WooCommerce's and Magento's on each of the first
    # two receives, WooCommerce's on the third); the other receives failed fast, without a call.
    assert len(storefronts.of("woocommerce")) == 3 * 2
    assert len(storefronts.of("magento")) == 2 * 2

    # Redriven once the storefront is back and the circuit's cool-down has passed, the level is pushed.
    storefronts.fail_next = 0
    breaker = breaker_for("storefronts.fake.test")
    monkeypatch.setattr(breaker, "_clock", lambda: time.monotonic() + breaker.cooldown)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=hub.queue_url("ChannelSyncQueue"), MessageBody=dead["Body"])
    assert run(hub, fns["channel_sync"], "ChannelSyncQueue") == []
    assert storefronts.of("woocommerce")[-1].body == {"manage_stock": True, "stock_quantity": 6}


# ----------------------------------------------------------------------------------- change history
def get_inventory(admin, context, sku: str) -> dict[str, Any]:
    ev = event("admin_api_get_inventory.json")
    ev["rawPath"] = f"/inventory/{sku}"
    ev["requestContext"]["http"]["path"] = ev["rawPath"]
    ev["pathParameters"] = {"sku": sku}
    response = admin.lambda_handler(ev, context)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def test_every_change_is_kept_with_its_cause_and_get_inventory_lists_the_latest(hub, fns, storefronts, context,
                                                                                 load_function):  # fmt: skip
    """A correction, an order's reservation (events/stock_updates_order_placed.json, Shopify's
    orders/create sample as the hub records it) and the order's cancellation (Shopify's
    orders/cancelled sample, events/webhook_intake_shopify_orders_cancelled.json), each recorded
    by channel_sync from its StockLevelChanged."""
    set_level(fns["admin_api"], context, "MUG-ENAMEL-WHT", "wh-east", 10)
    set_level(fns["admin_api"], context, "TEE-ORGANIC-L", "wh-east", 10)
    settle(hub, fns)
    assert fns["stock_updates"].lambda_handler(event("stock_updates_order_placed.json"), context) == {
        "batchItemFailures": []
    }
    settle(hub, fns)
    assert level(hub, "MUG-ENAMEL-WHT", "wh-east") == (8, 2)
    deliver(fns, "webhook_intake_shopify_orders_cancelled.json")
    assert run(hub, load_function("payment_confirmation"), "PaymentsQueue") == []
    settle(hub, fns)
    assert level(hub, "MUG-ENAMEL-WHT", "wh-east") == (10, 0)

    body = get_inventory(fns["admin_api"], context, "MUG-ENAMEL-WHT")
    assert body["available"] == 10  # the levels as before: `changes` is added beside them
    order = "shopify:820982911946154508"
    assert [(c["cause"], c["location"], c["origin"], c["order_id"], c["before"], c["after"], c["delta"])
            for c in body["changes"]] == [
        ("release", "wh-east", "shopify", order, 8, 10, 2),  # the cancellation, a change of its own
        ("reservation", "wh-east", "shopify", order, 10, 8, -2),
        ("correction", "wh-east", "admin", None, None, 10, None),
    ]  # fmt: skip
    times = [c["at"] for c in body["changes"]]
    assert times == sorted(times, reverse=True)  # newest first

    # One item per change, in the SKU's own partition, expiring after 30 days (the table's TTL).
    items = boto3.client("dynamodb").query(
        TableName=hub.resources["HubTable"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "STOCKLOG#MUG-ENAMEL-WHT"}},
    )["Items"]
    assert len(items) == 3
    assert all(29 * 86400 < int(i["expires_at"]["N"]) - time.time() <= 30 * 86400 for i in items)
