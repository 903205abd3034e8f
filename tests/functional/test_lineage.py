"""GET /orders/{id}/lineage with moto: a Shopify order's deliveries through webhook_intake, what
payment_confirmation, stock_updates and order_routing decided, and the CRM push, read over admin_api.

Deliveries are events/webhook_intake_shopify_orders_create.json and _orders_paid.json, whose
payloads (events/payloads/) are shaped after the orders/create and orders/paid examples of
Shopify's webhook reference (shopify.dev).
"""

from __future__ import annotations

import json

import boto3
import httpx
import pytest
import respx
from hub.events import parse_event

from tests.functional.conftest import event
from tests.functional.test_crm_upsert import use_config
from tests.functional.test_payment_confirmation import record
from tests.functional.test_stock_updates import set_level

ORDER = "shopify:820982911946154508"


@pytest.fixture
def fns(aws, load_function):
    names = ("webhook_intake", "stock_updates", "payment_confirmation", "order_routing", "crm_upsert", "admin_api")
    return {name: load_function(name) for name in names}


def lineage(admin, context, order_id: str = ORDER) -> tuple[int, dict]:
    ev = event("admin_api_get_order_lineage.json")
    ev["rawPath"] = ev["requestContext"]["http"]["path"] = f"/orders/{order_id}/lineage"
    ev["pathParameters"] = {"order_id": order_id}
    response = admin.lambda_handler(ev, context)
    return response["statusCode"], json.loads(response["body"])


def deliver(fn, context, *hub_events) -> dict:
    return fn.lambda_handler({"Records": [record(e, f"m{i}") for i, e in enumerate(hub_events)]}, context)


def published(bus_tap, detail_type: str):
    return [parse_event(e["detail"]) for e in bus_tap.events() if e["detail-type"] == detail_type]


def test_an_unknown_order_is_404_and_get_order_stays_as_it_was(aws, fns, context):
    status, body = lineage(fns["admin_api"], context, "shopify:404")
    assert status == 404 and "shopify:404" in body["error"]
    response = fns["admin_api"].lambda_handler(event("admin_api_get_order.json"), context)
    assert response["statusCode"] == 404  # GET /orders/{id} still knows orders only


def test_deliveries_decisions_and_calls_of_a_shopify_order_in_time_order(aws, fns, bus_tap, context, monkeypatch):
    intake, admin = fns["webhook_intake"], fns["admin_api"]
    use_config(aws, monkeypatch, "crm: {provider: hubspot}\n", {"HUBSPOT_ACCESS_TOKEN": "pat-test"})
    # Paid before it is placed: the payment waits for its order.
    paid_answer = json.loads(intake.lambda_handler(event("webhook_intake_shopify_orders_paid.json"), context)["body"])
    (paid,) = published(bus_tap, "OrderPaid")
    assert deliver(fns["payment_confirmation"], context, paid) == {"batchItemFailures": []}
    # Placed, and Shopify retries the same webhook: accepted, then duplicate.
    created = event("webhook_intake_shopify_orders_create.json")
    first = json.loads(intake.lambda_handler(created, context)["body"])
    again = json.loads(intake.lambda_handler(created, context)["body"])
    assert (first["status"], again["status"]) == ("accepted", "duplicate")
    placed = next(e for e in published(bus_tap, "OrderPlaced"))
    # stock_updates needs stock to reserve; then a redelivery of the placement changes nothing.
    for sku in ("MUG-ENAMEL-WHT", "TEE-ORGANIC-L"):
        set_level(admin, context, sku, "wh-east", 10)
    assert deliver(fns["stock_updates"], context, placed) == {"batchItemFailures": []}
    assert deliver(fns["stock_updates"], context, placed) == {"batchItemFailures": []}
    changed = published(bus_tap, "OrderStatusChanged")
    recorded = next(e for e in changed if e.data.previous is None)
    # The recording applies the kept payment, routes the order, and pushes its customer to HubSpot.
    assert deliver(fns["payment_confirmation"], context, recorded) == {"batchItemFailures": []}
    assert deliver(fns["order_routing"], context, recorded) == {"batchItemFailures": []}
    assert deliver(fns["order_routing"], context, recorded) == {"batchItemFailures": []}  # redelivered
    with respx.mock(assert_all_called=True) as hubspot:
        hubspot.post("https://api.hubapi.com/crm/objects/2026-03/contacts/batch/upsert").mock(
            return_value=httpx.Response(
                200, json={"status": "COMPLETE", "results": [{"id": "5101", "properties": {"email": "x"}}]}
            )
        )
        assert deliver(fns["crm_upsert"], context, placed) == {"batchItemFailures": []}

    status, body = lineage(admin, context)
    assert status == 200 and body["order_id"] == ORDER
    steps = [
        (e["step"], e["result"], e.get("source") or e.get("system"), e.get("event_type") or e.get("call"))
        for e in body["entries"]
    ]
    assert steps == [
        ("delivery", "accepted", "shopify", None),  # orders/paid
        ("decision", "waiting", None, "OrderPaid"),
        ("delivery", "accepted", "shopify", None),  # orders/create
        ("delivery", "duplicate", "shopify", None),  # its retry
        ("decision", "applied", None, "OrderPlaced"),
        ("decision", "duplicate", None, "OrderPlaced"),
        ("decision", "not_applied", None, "OrderPaid"),
        ("decision", "applied", None, "OrderStatusChanged"),
        ("decision", "duplicate", None, "OrderStatusChanged"),
        ("call", "ok", "hubspot", "crm_push"),
    ]
    deliveries = [e for e in body["entries"] if e["step"] == "delivery"]
    assert [d["via"] for d in deliveries] == ["webhook"] * 3
    assert deliveries[1]["delivery_id"] == deliveries[2]["delivery_id"]
    assert deliveries[1]["event_ids"] == first["event_ids"] and paid_answer["event_ids"] == deliveries[0]["event_ids"]
    assert next(e["why"] for e in body["entries"] if e["step"] == "decision") == "kept until the order is recorded"
    assert body["entries"][-1]["reference"] == "5101"
    times = [e["at"] for e in body["entries"]]
    assert times == sorted(times)
    # No personal data in any lineage item.
    sample = json.loads(created["body"])
    personal = [sample["email"], sample["customer"]["last_name"], sample["shipping_address"]["address1"]]
    items = boto3.client("dynamodb").scan(TableName=aws.resources["HubTable"])["Items"]
    lineage_items = [i for i in items if i["pk"]["S"].startswith("LINEAGE#")]
    assert len(lineage_items) == len(body["entries"]) - 3  # the timeline's three are read, not copied
    kept = json.dumps(lineage_items)
    assert all(value and value not in kept for value in personal)
