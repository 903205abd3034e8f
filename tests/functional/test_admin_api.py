"""admin_api with moto: orders and inventory as the design's JSON contract."""

from __future__ import annotations

import json

import pytest

from tests.functional.conftest import event
from tests.functional.test_stock_updates import set_level


@pytest.fixture
def admin(aws, load_function):
    return load_function("admin_api")


def call(admin, context, ev):
    response = admin.lambda_handler(ev, context)
    return response["statusCode"], json.loads(response["body"])


def test_inventory_is_set_and_read_per_location(aws, admin, context):
    status, body = call(admin, context, event("admin_api_put_inventory.json"))
    assert status == 200
    assert body == {
        "sku": "MUG-ENAMEL-WHT",
        "available": 40,
        "reserved": 0,
        "locations": {"wh-east": {"available": 40, "reserved": 0}},
    }
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-west", 2)
    status, body = call(admin, context, event("admin_api_get_inventory.json"))
    assert status == 200
    assert (body["available"], sorted(body["locations"])) == (42, ["wh-east", "wh-west"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"location": "wh-north", "available": 3}', "unknown location 'wh-north'"),
        ('{"location": "wh-east", "available": -1}', '"available": <units, 0 or more>'),
        ("not json", "send JSON"),
        ('{"location": "wh-east", "available": 3, "extra": 1}', "send JSON"),
    ],
)
def test_bad_level_requests_say_what_is_expected(aws, admin, context, body, message):
    ev = event("admin_api_put_inventory.json")
    ev["body"] = body
    status, answer = call(admin, context, ev)
    assert status == 400
    assert message in answer["error"]


def test_unknown_things_are_404_json(aws, admin, context):
    status, body = call(admin, context, event("admin_api_get_order.json"))
    assert status == 404 and "no order 'shopify:820982911946154508'" in body["error"]
    status, body = call(admin, context, event("admin_api_get_inventory.json"))
    assert status == 404 and "MUG-ENAMEL-WHT" in body["error"]


def test_an_order_reads_with_status_total_lines_and_timeline(aws, admin, load_function, context):
    set_level(admin, context, "MUG-ENAMEL-WHT", "wh-east", 5)
    set_level(admin, context, "TEE-ORGANIC-L", "wh-east", 5)
    load_function("stock_updates").lambda_handler(event("stock_updates_order_placed.json"), context)
    status, order = call(admin, context, event("admin_api_get_order.json"))
    assert status == 200
    assert order["order_id"] == "shopify:820982911946154508"
    assert (order["channel"], order["status"], order["currency"], order["total"]) == ("shopify", "paid", "USD", "85.92")
    assert order["customer_email"] == "ada.lovelace@example.com"
    assert order["lines"] == [{"sku": "MUG-ENAMEL-WHT", "quantity": 2}, {"sku": "TEE-ORGANIC-L", "quantity": 1}]
    assert [e["type"] for e in order["timeline"]] == ["OrderPlaced"]
    # Placed paid: the storefront's own statement that it is paid, marked as such.
    assert [(p["source"], p["amount"], p["storefront"]) for p in order["payments"]] == [("shopify", "85.92", True)]
    assert order["fulfilments"] == []
