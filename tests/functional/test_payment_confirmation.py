"""payment_confirmation with moto: a gateway payment before and after its order, and a poison record."""

from __future__ import annotations

import copy
import json

import boto3
import pytest

from tests.functional.conftest import event
from tests.functional.test_stock_updates import set_level
from tests.unit.test_payment_service import payment, placed


def record(hub_event, message_id: str) -> dict:
    body = {
        "version": "0",
        "id": message_id,
        "detail-type": hub_event.type,
        "source": f"commerce-hub.{hub_event.source}",
        "account": "123456789012",
        "time": "2026-11-20T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(hub_event.model_dump_json()),
    }
    base = copy.deepcopy(event("stock_updates_order_placed.json")["Records"][0])
    return dict(base, messageId=message_id, body=json.dumps(body))


@pytest.fixture
def handlers(aws, load_function):
    return load_function("stock_updates"), load_function("payment_confirmation"), load_function("admin_api")


def order_status(aws) -> str:
    item = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": "ORDER#woocommerce:727"}, "sk": {"S": "ORDER"}}
    )
    return item["Item"]["status"]["S"] if "Item" in item else "(none)"


def test_a_payment_kept_before_its_order_applies_when_the_order_is_recorded(aws, bus_tap, handlers, context):
    stock, payments, admin = handlers
    set_level(admin, context, "MUG", "wh-east", 5)
    assert payments.lambda_handler({"Records": [record(payment(), "m1")]}, context) == {"batchItemFailures": []}
    assert order_status(aws) == "(none)"

    assert stock.lambda_handler({"Records": [record(placed(), "m2")]}, context) == {"batchItemFailures": []}
    recorded = [e for e in bus_tap.events() if e["detail-type"] == "OrderStatusChanged"]
    assert recorded[0]["detail"]["data"]["previous"] is None
    # The bus delivers that announcement to payment_confirmation, which applies the kept payment.
    announcement = dict(record(placed(), "m3"), body=json.dumps({**recorded[0], "account": "123456789012"}))
    assert payments.lambda_handler({"Records": [announcement]}, context) == {"batchItemFailures": []}
    assert order_status(aws) == "paid"
    paid = [e for e in bus_tap.events() if e["detail-type"] == "OrderStatusChanged"]
    assert [(e["detail"]["data"]["previous"], e["detail"]["data"]["status"]) for e in paid] == [
        ("pending_payment", "paid")
    ]


def test_a_record_that_cannot_be_applied_fails_alone(aws, handlers, context):
    _stock, payments, _admin = handlers
    anonymous = payment()
    anonymous = anonymous.model_copy(
        update={
            "data": anonymous.data.model_copy(
                update={"reference": anonymous.data.reference.model_copy(update={"order_id": None})}
            )
        }
    )
    result = payments.lambda_handler(
        {"Records": [record(anonymous, "bad-1"), record(payment("evt_ok"), "ok-1")]}, context
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
