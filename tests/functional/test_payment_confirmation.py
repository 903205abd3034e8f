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


def get_order(admin, context, order_id: str) -> dict:
    ev = event("admin_api_get_order.json")
    ev["rawPath"] = f"/orders/{order_id}"
    ev["requestContext"]["http"]["path"] = ev["rawPath"]
    ev["pathParameters"] = {"order_id": order_id}
    response = admin.lambda_handler(ev, context)
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


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
    # GET /orders/{id} lists the Stripe payment that made it paid.
    order = get_order(admin, context, "woocommerce:727")
    assert order["payments"] == [
        {
            "kind": "payment",
            "source": "stripe",
            "reference": "pi_1",
            "amount": "50.00",
            "currency": "USD",
            "status": "succeeded",
            "at": "2026-11-20T12:01:00+00:00",
            "storefront": False,
        }
    ]


def test_a_storefront_event_before_its_order_is_kept_and_applied_in_order(aws, bus_tap, handlers, context):
    """WooCommerce's order.updated (events/payloads, the REST v3 order) reaches payment_confirmation
    before any placement: it is kept, then applied when the order is recorded unpaid from order.created."""
    from tests.unit.test_order_arrival import payload, woocommerce

    stock, payments, admin = handlers
    set_level(admin, context, "TOTE-WAX-OLV", "wh-east", 5)
    set_level(admin, context, "BEANIE-MER-CHR", "wh-east", 5)
    update, _placed, paid = woocommerce("order.updated", payload("woocommerce_order_updated", refunds=[]))
    records = [record(update, "u1"), record(paid, "p1")]
    assert payments.lambda_handler({"Records": records}, context) == {"batchItemFailures": []}
    kept = boto3.client("dynamodb").query(
        TableName=aws.resources["HubTable"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues={":pk": {"S": "ORDER#woocommerce:1187"}, ":p": {"S": "PENDING#"}},
    )["Items"]
    assert len(kept) == 2

    unpaid = payload("woocommerce_order_created", status="pending", date_paid_gmt=None, date_paid=None)
    (created,) = woocommerce("order.created", unpaid)
    assert stock.lambda_handler({"Records": [record(created, "c1")]}, context) == {"batchItemFailures": []}
    recorded = next(e for e in bus_tap.events() if e["detail-type"] == "OrderStatusChanged")
    announcement = dict(record(created, "s1"), body=json.dumps({**recorded, "account": "123456789012"}))
    assert payments.lambda_handler({"Records": [announcement]}, context) == {"batchItemFailures": []}

    order = get_order(admin, context, "woocommerce:1187")
    assert order["status"] == "paid"
    applied = [(e["type"], e["applied"]) for e in order["timeline"]]
    assert applied[0] == ("OrderPlaced", True)
    assert ("OrderPaid", True) in applied and ("OrderUpdated", False) in applied
    assert [p["storefront"] for p in order["payments"]] == [True]


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
