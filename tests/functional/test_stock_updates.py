"""stock_updates with moto: reservations under the DynamoDB guard, partial batch failures."""

from __future__ import annotations

import copy
import json

import boto3
import pytest

from tests.functional.conftest import ROOT, event

ORDER_ID = "shopify:820982911946154508"


@pytest.fixture
def stock(aws, load_function):
    return load_function("stock_updates")


@pytest.fixture
def admin(aws, load_function):
    return load_function("admin_api")


def set_level(admin, context, sku, location, available):
    ev = event("admin_api_put_inventory.json")
    ev["rawPath"] = f"/inventory/{sku}"
    ev["requestContext"]["http"]["path"] = ev["rawPath"]
    ev["pathParameters"] = {"sku": sku}
    ev["body"] = json.dumps({"location": location, "available": available})
    response = admin.lambda_handler(ev, context)
    assert response["statusCode"] == 200, response["body"]


def level(aws, sku, location):
    item = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": f"SKU#{sku}"}, "sk": {"S": f"LOC#{location}"}}
    )["Item"]
    return int(item["available"]["N"]), int(item["reserved"]["N"])


def test_an_order_is_recorded_with_its_reservations_once(aws, stock, admin, context):
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 1)
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-west", 10)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 4)
    sqs_event = event("stock_updates_order_placed.json")

    assert stock.lambda_handler(sqs_event, context) == {"batchItemFailures": []}
    assert level(aws, "MUG-ENAMEL-WHT", "wh-west") == (8, 2)
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (1, 0)
    assert level(aws, "TEE-ORGANIC-L", "wh-east") == (3, 1)

    # The same event again (a redelivery) reserves nothing more.
    assert stock.lambda_handler(sqs_event, context) == {"batchItemFailures": []}
    assert level(aws, "MUG-ENAMEL-WHT", "wh-west") == (8, 2)


def test_an_order_without_stock_is_held_and_the_shortage_published(aws, stock, admin, context):
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 1)
    assert stock.lambda_handler(event("stock_updates_order_placed.json"), context) == {"batchItemFailures": []}
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (1, 0)
    head = boto3.client("dynamodb").get_item(
        TableName=aws.resources["HubTable"], Key={"pk": {"S": f"ORDER#{ORDER_ID}"}, "sk": {"S": "ORDER"}}
    )["Item"]
    assert head["status"]["S"] == "on_hold"
    assert head["hold_reason"]["S"] == "insufficient_stock"


def test_a_record_that_is_not_a_hub_event_fails_alone(aws, stock, admin, context):
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 10)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 10)
    good = event("stock_updates_order_placed.json")["Records"][0]
    bad = copy.deepcopy(good)
    bad["messageId"] = "poison-1"
    bad["body"] = json.dumps({"detail-type": "OrderPlaced", "detail": {"nonsense": True}})
    result = stock.lambda_handler({"Records": [bad, good]}, context)
    assert result == {"batchItemFailures": [{"itemIdentifier": "poison-1"}]}
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (8, 2)


def test_an_order_too_large_for_the_bus_is_recorded_whole(aws, bus_tap, load_function, admin, context):
    """1,500 lines with long titles: the event is claim-checked through S3 and resolved by the consumer."""
    from tests.unit.test_shopify_source import sign

    for i in range(5):
        set_level(admin, context, f"BULK-{i}", "wh-east", 1000)
    payload = json.loads((ROOT / "events" / "payloads" / "shopify_orders_create.json").read_text())
    payload["id"] = 9900000000001
    payload["line_items"] = [
        {"id": n, "sku": f"BULK-{n % 5}", "title": "Bulk item " + "x" * 200, "quantity": 1, "price": "1.00"}
        for n in range(1500)
    ]
    payload["total_price"] = "1500.00"
    raw = json.dumps(payload).encode()
    ev = event("webhook_intake_shopify_orders_create.json")
    ev["body"] = raw.decode()
    ev["headers"]["x-shopify-hmac-sha256"] = sign(raw, "local-shopify-webhook-secret")
    response = load_function("webhook_intake").lambda_handler(ev, context)
    assert response["statusCode"] == 200, response["body"]

    (published,) = [e for e in bus_tap.events() if e["detail-type"] == "OrderPlaced"]
    assert "claim_check" in published["detail"] and "data" not in published["detail"]
    body = json.dumps({**published, "account": "123456789012"})
    record = dict(event("stock_updates_order_placed.json")["Records"][0], body=body, messageId="big-1")
    stock = load_function("stock_updates")
    assert stock.lambda_handler({"Records": [record]}, context) == {"batchItemFailures": []}
    assert level(aws, "BULK-0", "wh-east") == (700, 300)


def test_the_first_of_an_orders_deliveries_records_it_and_a_late_create_changes_nothing(aws, stock, admin, context):
    """Shopify's orders/paid, then its orders/create (events/payloads, Shopify's sample order)."""
    from tests.functional.test_payment_confirmation import record
    from tests.unit.test_order_arrival import shopify

    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 5)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 5)
    _paid, placed_paid = shopify("orders/paid")
    (placed_create,) = shopify("orders/create")

    assert stock.lambda_handler({"Records": [record(placed_paid, "m1")]}, context) == {"batchItemFailures": []}
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (3, 2)
    for message_id in ("m2", "m3"):  # the late create, and its redelivery
        assert stock.lambda_handler({"Records": [record(placed_create, message_id)]}, context) == {
            "batchItemFailures": []
        }
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (3, 2)
    assert level(aws, "TEE-ORGANIC-L", "wh-east") == (4, 1)

    response = admin.lambda_handler(event("admin_api_get_order.json"), context)
    order = json.loads(response["body"])
    assert order["status"] == "paid"
    placements = [(e["applied"], e["summary"]) for e in order["timeline"] if e["type"] == "OrderPlaced"]
    assert len(placements) == 2, "the late create is on the timeline once"
    assert placements[0][0] is True
    assert placements[1][0] is False and "already recorded from orders/paid" in placements[1][1]
    # The storefront's own statement that the order is paid, marked as such.
    assert order["payments"] == [
        {
            "kind": "payment",
            "source": "shopify",
            "reference": "placed-paid",
            "amount": "85.92",
            "currency": "USD",
            "status": "succeeded",
            "at": "2026-11-20T09:13:02-05:00",
            "storefront": True,
        }
    ]


def test_an_order_first_heard_of_cancelled_holds_nothing(aws, stock, admin, context):
    from tests.functional.test_payment_confirmation import record
    from tests.unit.test_order_arrival import shopify

    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 5)
    _cancelled, placed = shopify("orders/cancelled")
    assert stock.lambda_handler({"Records": [record(placed, "m1")]}, context) == {"batchItemFailures": []}
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (5, 0)
    order = json.loads(admin.lambda_handler(event("admin_api_get_order.json"), context)["body"])
    assert (order["status"], order["reservations"], order["payments"]) == ("cancelled", [], [])


def test_records_left_when_the_batch_time_is_spent_fail_alone_instead_of_timing_out(aws, stock, admin, context):
    """An invocation with no time left (less than the margin kept to publish) returns the records it
    has not started to the queue at once, rather than run the function into its timeout."""
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 10)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 10)
    record = event("stock_updates_order_placed.json")["Records"][0]

    class NearlyOut(type(context)):
        def get_remaining_time_in_millis(self) -> int:
            return 1500

    with pytest.raises(Exception, match="no time left"):
        stock.lambda_handler({"Records": [record]}, NearlyOut())
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (10, 0)
    # With time, the same record is recorded.
    assert stock.lambda_handler({"Records": [record]}, context) == {"batchItemFailures": []}
    assert level(aws, "MUG-ENAMEL-WHT", "wh-east") == (8, 2)
