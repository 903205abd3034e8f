"""Webhook activity on moto: webhook_intake counts each outcome in the hub table (`WEBHOOKS#<source>`
/ `<hour>`, and `<hour>#refused` with the latest refusal's reason), a count that cannot be written
changes no answer, and the console's webhooks page shows the last day per source.

The delivery is events/webhook_intake_shopify_orders_create.json (Shopify's orders/create example
from its webhook reference, as in test_webhook_intake.py), sent as signed, again, and with a wrong
signature.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from hub.adapters.webhook_activity import KEEP_DAYS
from hub.domain.webhook_activity import hour_of

from tests.functional import test_console
from tests.functional.conftest import event
from tests.functional.test_console import http, set_cookies, sign_in
from tests.functional.test_webhook_intake import call, with_body

console = pytest.fixture(test_console.console.__wrapped__)


@pytest.fixture
def intake(aws, load_function):
    return load_function("webhook_intake")


def _items(aws, source):
    table = aws.resources["HubTable"]
    found = boto3.client("dynamodb").query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"WEBHOOKS#{source}"}},
    )["Items"]
    return {item["sk"]["S"]: item for item in found}


def _send_three(intake, context):
    ev = event("webhook_intake_shopify_orders_create.json")
    assert call(intake, context, ev)[1]["status"] == "accepted"
    assert call(intake, context, ev)[1]["status"] == "duplicate"
    forged = with_body(ev, ev["body"].encode(), signed=False)
    forged["headers"]["x-shopify-hmac-sha256"] = "bm9wZQ=="
    status, body = call(intake, context, forged)
    assert status == 401
    return body["error"]


def _row(body, source):
    found = re.search(rf'<tr data-source="{re.escape(source)}"[^>]*>(.*?)</tr>', body, re.S)
    assert found, f"no row for {source}"
    return {cls: int(value) for cls, value in re.findall(r'<td class="num (\w+)">(\d+)</td>', found.group(1))} | {
        "marked": "refusals" in found.group(1)
    }


def test_intake_counts_each_outcome_per_source_and_hour(aws, intake, context):
    before = datetime.now(UTC)
    reason = _send_three(intake, context)

    items = _items(aws, "shopify")
    hour = hour_of(before)
    # An order's delivery is counted by an item of its own, written with its lineage (one request);
    # a refusal in the hour's refusals item. (A test run across the hour would see other hours.)
    delivered = {k: v for k, v in items.items() if k.startswith(f"{hour}#d#")}
    assert set(items) == {*delivered, f"{hour}#refused"}
    assert sorted(v["outcome"]["S"] for v in delivered.values()) == ["accepted", "duplicate"]
    started = int(datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC).timestamp())
    for item in delivered.values():
        assert int(item["expires_at"]["N"]) == started + KEEP_DAYS * 86400
    refused = items[f"{hour}#refused"]
    assert refused["refused"]["N"] == "1"
    last = refused["last_refusal_401"]["M"]
    assert last["reason"]["S"] == reason and "signature does not match" in reason
    assert last["status"]["N"] == "401"
    assert datetime.fromisoformat(last["at"]["S"]) >= before
    # Nothing of the body and no secret is kept: a reason is the intake's own sentence.
    assert "820982911946154508" not in str(items)


def test_an_unknown_source_is_counted_in_one_bucket(aws, intake, context):
    ev = event("webhook_intake_shopify_orders_create.json")
    ev["pathParameters"]["source"], ev["rawPath"] = "etsy", "/webhooks/etsy"
    assert call(intake, context, ev)[0] == 404
    assert _items(aws, "etsy") == {}
    (item,) = _items(aws, "(unknown)").values()
    assert (
        item["refused"]["N"] == "1" and "unknown webhook source 'etsy'" in item["last_refusal_404"]["M"]["reason"]["S"]
    )


def test_a_count_that_cannot_be_written_changes_no_answer(aws, intake, context, monkeypatch):
    client = intake.sandbox.dynamodb

    def throttled(**kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem"
        )

    # An order's count rides with its lineage (BatchWriteItem); others are counted by UpdateItem.
    monkeypatch.setattr(client, "update_item", throttled)
    monkeypatch.setattr(client, "batch_write_item", throttled)
    ev = event("webhook_intake_shopify_orders_create.json")
    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "accepted")
    assert len(aws.drain("StockQueue")) == 1
    forged = with_body(ev, b'{"id": 2}', signed=False)
    forged["headers"]["x-shopify-hmac-sha256"] = "bm9wZQ=="
    assert call(intake, context, forged)[0] == 401
    assert _items(aws, "shopify") == {}


def test_the_webhooks_page_shows_the_last_day_per_source(aws, intake, console, context):
    reason = _send_three(intake, context)
    cookies = set_cookies(sign_in(console, context))
    page = console.lambda_handler(http("GET", "/console/webhooks", cookies=cookies), context)
    assert page["statusCode"] == 200
    body = page["body"]
    # In the navigation, after Stock and before Dead letters.
    nav = re.findall(r'<li><a href="/console/([\w-]+)"', body)
    assert nav.index("stock") + 1 == nav.index("webhooks") == nav.index("dead-letters") - 1
    assert '<a href="/console/webhooks" aria-current="page">Webhooks</a>' in body
    assert _row(body, "shopify") == {
        "accepted": 1,
        "duplicate": 1,
        "ignored": 0,
        "refused": 1,
        "failed": 0,
        "marked": True,
    }
    # Every source the hub accepts has a row, zeros where nothing came; no unknown-source row.
    for source in ("bigcommerce", "easypost", "magento", "paypal", "shippo", "square", "stripe", "woocommerce"):
        assert _row(body, source) == {
            "accepted": 0,
            "duplicate": 0,
            "ignored": 0,
            "refused": 0,
            "failed": 0,
            "marked": False,
        }
    assert 'data-source="(unknown)"' not in body
    refusals = re.search(r'<section [^>]*class="refusals" data-source="shopify">(.*?)</section>', body, re.S)
    assert refusals and reason.replace("'", "&#39;") in refusals.group(1) and ">401<" in refusals.group(1)
    assert "Refusals</strong> in the last 24 hours from: shopify" in body


def test_get_webhook_activity_answers_the_same_as_json(aws, intake, load_function, context):
    """GET /webhooks/activity (events/admin_api_webhook_activity.json, IAM-signed like every admin route)."""
    reason = _send_three(intake, context)
    admin = load_function("admin_api")
    response = admin.lambda_handler(event("admin_api_webhook_activity.json"), context)
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["hours"] == 24
    rows = {row["source"]: row for row in body["sources"]}
    assert [row["source"] for row in body["sources"]] == sorted(rows) and len(rows) == 9
    shopify = rows["shopify"]
    assert {k: shopify[k] for k in ("accepted", "duplicate", "ignored", "refused", "failed")} == {
        "accepted": 1,
        "duplicate": 1,
        "ignored": 0,
        "refused": 1,
        "failed": 0,
    }
    (latest,) = shopify["latest_refusals"]
    assert (latest["status"], latest["reason"]) == (401, reason)
    assert datetime.fromisoformat(latest["at"]).tzinfo is not None
    assert rows["stripe"]["latest_refusals"] == [] and rows["stripe"]["accepted"] == 0
