"""webhook_intake with moto: what reaches the bus, and every refusal as a JSON error."""

from __future__ import annotations

import base64
import copy
import json

import boto3
import pytest

from commerce_hub.local.secrets import LOCAL_DEFAULTS
from tests.functional.conftest import event
from tests.unit.test_shopify_source import sign

SECRET = LOCAL_DEFAULTS["SHOPIFY_WEBHOOK_SECRET"]


@pytest.fixture
def intake(aws, load_function):
    return load_function("webhook_intake")


def call(intake, context, ev):
    response = intake.lambda_handler(ev, context)
    return response["statusCode"], json.loads(response["body"])


def with_body(ev, body: bytes, *, signed=True, base64_encoded=False):
    ev = copy.deepcopy(ev)
    ev["body"] = base64.b64encode(body).decode() if base64_encoded else body.decode()
    ev["isBase64Encoded"] = base64_encoded
    if signed:
        ev["headers"]["x-shopify-hmac-sha256"] = sign(body, SECRET)
    return ev


def test_an_order_webhook_lands_on_the_stock_queue_once(aws, intake, context):
    ev = event("webhook_intake_shopify_orders_create.json")
    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "accepted")
    messages = aws.drain("StockQueue")
    assert [m["detail-type"] for m in messages] == ["OrderPlaced"]
    detail = messages[0]["detail"]
    assert detail["event_id"] == body["event_ids"][0]
    assert detail["data"]["order_id"] == "shopify:820982911946154508"
    assert detail["data"]["total"] == 8592

    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "duplicate")
    assert aws.drain("StockQueue") == []


def test_a_base64_body_is_verified_on_its_decoded_bytes(aws, intake, context):
    ev = event("webhook_intake_shopify_orders_create.json")
    raw = ev["body"].encode()
    status, body = call(intake, context, with_body(ev, raw, base64_encoded=True))
    assert (status, body["status"]) == (200, "accepted")


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (lambda ev: ev["headers"].update({"x-shopify-hmac-sha256": "bm9wZQ=="}), 401, "does not match"),
        (lambda ev: ev["headers"].pop("x-shopify-hmac-sha256"), 401, "missing X-Shopify-Hmac-Sha256"),
        (lambda ev: ev.update(with_body(ev, b"{oops")), 400, "not valid JSON"),
        (lambda ev: ev.update(with_body(ev, b"x" * (1024 * 1024 + 1))), 413, "limit is 1048576"),
        (
            lambda ev: ev["pathParameters"].update({"source": "etsy"}) or ev.update(rawPath="/webhooks/etsy"),
            404,
            "unknown webhook source 'etsy'",
        ),
        (lambda ev: ev.update(body="!!!", isBase64Encoded=True), 400, "not valid base64"),
    ],
)
def test_refusals_are_json_errors_that_say_what_is_wrong(aws, intake, context, change, status, message):
    ev = event("webhook_intake_shopify_orders_create.json")
    change(ev)
    got_status, body = call(intake, context, ev)
    assert got_status == status
    assert message in body["error"]
    assert SECRET not in json.dumps(body)
    assert aws.drain("StockQueue") == []


def test_a_delivery_that_could_not_be_published_is_published_by_the_retry(aws, intake, context, monkeypatch):
    ev = event("webhook_intake_shopify_orders_create.json")
    events = boto3.client("events")
    real = events.put_events

    def refuse(**kwargs):
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]}

    root = intake._root()
    publisher = root.service._deliveries._publisher
    monkeypatch.setattr(publisher._client, "put_events", refuse)
    status, body = call(intake, context, ev)
    assert status == 503 and "retry" in body["error"]
    assert aws.drain("StockQueue") == []

    monkeypatch.setattr(publisher._client, "put_events", real)
    status, body = call(intake, context, ev)
    assert (status, body["status"]) == (200, "accepted")
    assert len(aws.drain("StockQueue")) == 1
